import { marketingConsentOf } from '../customers/customer.queries';
import { isDuplicateKeyError } from '../shared/db';
import { NotFoundError } from '../shared/errors';
import { derivedId } from '../shared/ids';
import type { Clock } from '../shared/time';
import { MessagePreferenceModel, OPTIONAL_CATEGORIES, type MessagePreference, type OptionalCategory } from './message-preference.model';
import type { MessagePreferencesView, UpdateMessagePreferencesBody } from './message.schemas';

function preferenceId(merchantId: string, customerId: string, category: OptionalCategory): string {
  return derivedId('mpref', `${merchantId}\n${customerId}\n${category}`);
}

/** Whether the shopper turned this category of the merchant's messages off. */
export async function isUnsubscribed(merchantId: string, customerId: string, category: OptionalCategory): Promise<boolean> {
  const preference = await MessagePreferenceModel.findById(preferenceId(merchantId, customerId, category), { subscribed: 1 }).lean();
  return preference?.subscribed === false;
}

/** The shopper's choices: every optional category, subscribed unless turned off. */
export async function messagePreferencesOf(merchantId: string, customerId: string): Promise<Record<OptionalCategory, boolean>> {
  const stored = await MessagePreferenceModel.find({ merchantId, customerId }).lean();
  const byCategory = new Map(stored.map((preference) => [preference.category, preference.subscribed]));
  return Object.fromEntries(OPTIONAL_CATEGORIES.map((category) => [category, byCategory.get(category) ?? true])) as Record<OptionalCategory, boolean>;
}

/** Sets the shopper's choice for each category given (a choice already made is left as it is: same answer, no write). */
export async function setMessagePreferences(
  clock: Clock,
  target: { merchantId: string; customerId: string },
  changes: Partial<Record<OptionalCategory, boolean>>,
  source: MessagePreference['source'],
): Promise<void> {
  const now = clock.now();
  for (const category of OPTIONAL_CATEGORIES) {
    const subscribed = changes[category];
    if (subscribed === undefined) continue;
    await MessagePreferenceModel.updateOne(
      { _id: preferenceId(target.merchantId, target.customerId, category), subscribed: { $ne: subscribed } },
      { $set: { merchantId: target.merchantId, customerId: target.customerId, category, subscribed, source, changedAt: now } },
      { upsert: true },
    ).catch((error: unknown) => {
      // The filter did not match because the choice is already made; the upsert's insert then collides: nothing to do.
      if (!isDuplicateKeyError(error)) throw error;
    });
  }
}

async function preferencesView(merchantId: string, customerId: string): Promise<MessagePreferencesView> {
  const consent = await marketingConsentOf(merchantId, customerId);
  if (consent === undefined) throw new NotFoundError('No such customer.');
  const preferences = await messagePreferencesOf(merchantId, customerId);
  return { object: 'message_preferences', customerId, transactional: true, ...preferences, marketingConsent: consent };
}

/** The merchant's view of a shopper's choices (404 for another merchant's customer, like a missing one). */
export function getCustomerMessagePreferences(merchantId: string, customerId: string): Promise<MessagePreferencesView> {
  return preferencesView(merchantId, customerId);
}

/** The merchant changes a shopper's choices (the shopper asked them to). Transactional mail cannot be turned off. */
export async function updateCustomerMessagePreferences(
  clock: Clock,
  merchantId: string,
  customerId: string,
  body: UpdateMessagePreferencesBody,
): Promise<MessagePreferencesView> {
  if ((await marketingConsentOf(merchantId, customerId)) === undefined) throw new NotFoundError('No such customer.');
  await setMessagePreferences(clock, { merchantId, customerId }, body, 'merchant');
  return preferencesView(merchantId, customerId);
}
