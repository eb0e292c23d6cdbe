import { customerExists } from '../customers/customer.queries';
import { merchantProfile } from '../merchants/merchant.queries';
import { signActionToken, verifyActionToken } from '../shared/action-tokens';
import type { Clock } from '../shared/time';
import { actionLinkSecret as actionLinkSecretOf } from './action-links';
import { OPTIONAL_CATEGORIES, type OptionalCategory } from './message-preference.model';
import { setMessagePreferences } from './message-preference.service';

/** The action an unsubscribe link's token names. */
export const UNSUBSCRIBE_ACTION = 'messages.unsubscribe';
/** How long an unsubscribe link works: mail is read, and unsubscribed from, long after it was sent. */
export const UNSUBSCRIBE_LINK_DAYS = 365;
const DAY_MS = 86_400_000;

/** What signing and reading message links needs: the clock, and APP_SECRET when configured. */
export interface MessageLinkDeps {
  clock: Clock;
  appSecret: string | undefined;
}

/** The secret every action link in mail is signed with: APP_SECRET's, or the one this installation made (`action-links`). */
export function actionLinkSecret(deps: MessageLinkDeps): Promise<string> {
  return actionLinkSecretOf(deps.appSecret, deps.clock.now());
}

/** Whose messages of which category a link turns off. */
export interface UnsubscribeTarget {
  merchantId: string;
  customerId: string;
  category: OptionalCategory;
}

/**
 * The link that unsubscribes a shopper from one category of a merchant's messages: `List-Unsubscribe` (the
 * mail client's one-click POST, RFC 8058) and the footer's link (a page with a button). Signed with
 * `signing.secret` (`actionLinkSecret`), working for UNSUBSCRIBE_LINK_DAYS from `signing.now`.
 */
export function unsubscribeUrl(publicUrl: string, target: UnsubscribeTarget, signing: { secret: string; now: Date }): string {
  const token = signActionToken(signing.secret, {
    action: UNSUBSCRIBE_ACTION,
    merchantId: target.merchantId,
    subjectId: target.customerId,
    data: { category: target.category },
    expiresAt: new Date(signing.now.getTime() + UNSUBSCRIBE_LINK_DAYS * DAY_MS),
  });
  return `${publicUrl.replace(/\/$/, '')}/m/unsubscribe?token=${encodeURIComponent(token)}`;
}

/** A link read: what it unsubscribes from (and the store's name, for the page), or why it does not work. */
export type UnsubscribeLink = { ok: true; target: UnsubscribeTarget; merchantName: string } | { ok: false; reason: 'expired' | 'invalid' };

const isOptionalCategory = (value: string | undefined): value is OptionalCategory => OPTIONAL_CATEGORIES.some((category) => category === value);

/** Checks an unsubscribe link's token: signed by us, for unsubscribing, not expired, of a store and shopper that exist. */
export async function readUnsubscribeLink(deps: MessageLinkDeps, token: string): Promise<UnsubscribeLink> {
  const check = verifyActionToken(await actionLinkSecret(deps), token, deps.clock.now(), UNSUBSCRIBE_ACTION);
  if (!check.ok) return { ok: false, reason: check.reason === 'expired' ? 'expired' : 'invalid' };
  const category = check.claim.data?.category;
  if (!isOptionalCategory(category)) return { ok: false, reason: 'invalid' };
  const { merchantId, subjectId: customerId } = check.claim;
  const merchant = await merchantProfile(merchantId);
  if (!merchant || !(await customerExists(merchantId, customerId))) return { ok: false, reason: 'invalid' };
  return { ok: true, target: { merchantId, customerId, category }, merchantName: merchant.name };
}

/** Unsubscribes as the link says (the one-click POST, or the page's button). Doing it twice changes nothing. */
export async function unsubscribeByLink(deps: MessageLinkDeps, token: string, source: 'one_click' | 'page'): Promise<UnsubscribeLink> {
  const link = await readUnsubscribeLink(deps, token);
  if (link.ok) await setMessagePreferences(deps.clock, link.target, { [link.target.category]: false }, source);
  return link;
}

/** Undoes an unsubscribe from the receipt page (same link: the same shopper, the same category). */
export async function resubscribeByLink(deps: MessageLinkDeps, token: string): Promise<UnsubscribeLink> {
  const link = await readUnsubscribeLink(deps, token);
  if (link.ok) await setMessagePreferences(deps.clock, link.target, { [link.target.category]: true }, 'page');
  return link;
}
