import { CustomerModel } from '../customers/customer.model';
import { createHash, randomBytes } from 'node:crypto';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, NotFoundError, UnauthorizedError } from '../shared/errors';
import type { MerchantPrincipal } from '../shared/http/route';
import { newId } from '../shared/ids';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../shared/password';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { ApiKeyModel, type ApiKey } from './api-key.model';
import { MerchantModel, type Merchant } from './merchant.model';
import { subscriptionSettingsOf } from '../subscriptions/subscription-settings';
import { shippingFeesOf } from './shipping-fees';
import type { ApiKeyView, LogInBody, MerchantView, NewApiKeyView, SignUpBody, UpdateMerchantBody } from './merchant.schemas';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SESSION_HOURS = 12;
/** lastUsedAt is written at most this often per key, so authentication stays a read. */
const LAST_USED_RESOLUTION_MS = 60_000;

function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function generateSecret(): string {
  let out = 'bxk_';
  for (const byte of randomBytes(32)) out += KEY_ALPHABET[byte % KEY_ALPHABET.length];
  return out;
}

export class EmailTakenError extends ConflictError {
  override readonly code = 'email_taken';
  override readonly title = 'An account with this e-mail already exists';
}

function settingsViewOf(merchant: Merchant): MerchantView['subscriptionSettings'] {
  const settings = subscriptionSettingsOf(merchant);
  return {
    cutoffDays: settings.cutoffDays,
    maxChargeDateShiftDays: settings.maxChargeDateShiftDays,
    cancellationReasons: settings.cancellationReasons,
    saveOffers: settings.saveOffers,
    dunningOutcome: settings.dunningOutcome,
    shippingFees: shippingFeesOf(merchant),
  };
}

export function toMerchantView(merchant: Merchant): MerchantView {
  return {
    id: merchant._id,
    object: 'merchant',
    name: merchant.name,
    email: merchant.email,
    defaultCurrency: merchant.defaultCurrency,
    timezone: merchant.timezone,
    subscriptionSettings: settingsViewOf(merchant),
    createdAt: iso(merchant.createdAt),
  };
}

export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key._id,
    object: 'api_key',
    kind: key.kind,
    name: key.name,
    prefix: key.prefix,
    createdAt: iso(key.createdAt),
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
  };
}

async function issueApiKey(
  clock: Clock,
  merchantId: string,
  kind: ApiKey['kind'],
  name: string,
): Promise<NewApiKeyView> {
  const secret = generateSecret();
  const now = clock.now();
  const key = await ApiKeyModel.create({
    _id: newId('key'),
    merchantId,
    kind,
    name,
    prefix: secret.slice(0, 12),
    hash: hashKey(secret),
    createdAt: now,
    ...(kind === 'session' ? { expiresAt: new Date(now.getTime() + SESSION_HOURS * 3_600_000) } : {}),
  });
  return { ...toApiKeyView(key.toObject()), secret };
}

/** Signs a merchant up and issues its first secret API key (the only time the key is shown). */
export async function signUpMerchant(
  clock: Clock,
  input: SignUpBody,
): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
  const passwordHash = await hashPassword(input.password);
  let merchant: Merchant;
  try {
    merchant = (
      await MerchantModel.create({
        _id: newId('mer'),
        name: input.name,
        email: input.email,
        defaultCurrency: input.defaultCurrency,
        timezone: input.timezone,
        passwordHash,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      })
    ).toObject();
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new EmailTakenError('Log in instead, or use another e-mail address.');
    throw error;
  }
  const apiKey = await issueApiKey(clock, merchant._id, 'secret', 'Default key');
  return { merchant: toMerchantView(merchant), apiKey };
}

/** Checks e-mail and password and issues a session key that expires after 12 hours. */
export async function logInMerchant(
  clock: Clock,
  input: LogInBody,
): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
  const merchant = await MerchantModel.findOne({ email: input.email }).lean();
  const ok = merchant?.passwordHash ? await verifyPassword(input.password, merchant.passwordHash) : await verifyAgainstDummy(input.password);
  if (!merchant || !ok) throw new UnauthorizedError('The e-mail or password is not right.');
  const apiKey = await issueApiKey(clock, merchant._id, 'session', `Log-in ${clock.now().toISOString()}`);
  return { merchant: toMerchantView(merchant), apiKey };
}

export async function getMerchant(merchantId: string): Promise<MerchantView> {
  const merchant = await MerchantModel.findById(merchantId).lean();
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  return toMerchantView(merchant);
}

export async function updateMerchant(clock: Clock, merchantId: string, input: UpdateMerchantBody): Promise<MerchantView> {
  const changes: Record<string, unknown> = {};
  const removals: Record<string, 1> = {};
  if (input.name !== undefined) changes.name = input.name;
  // Each setting is its own field, so changing one never resets another.
  for (const [key, value] of Object.entries(input.subscriptionSettings ?? {})) {
    if (key === 'saveOffers') {
      for (const [offer, offerValue] of Object.entries(value as Record<string, unknown>)) {
        if (offerValue !== undefined) changes[`subscriptionSettings.saveOffers.${offer}`] = offerValue;
      }
    } else if (value !== undefined) {
      changes[`subscriptionSettings.${key}`] = value;
    }
  }
  // The list of fees per currency replaces the one fee of before (see shippingFeesOf).
  if (input.subscriptionSettings?.shippingFees !== undefined) removals['subscriptionSettings.shippingFeeMinor'] = 1;
  const merchant =
    Object.keys(changes).length === 0
      ? await MerchantModel.findById(merchantId).lean()
      : await MerchantModel.findOneAndUpdate(
          { _id: merchantId },
          { $set: { ...changes, updatedAt: clock.now() }, ...(Object.keys(removals).length > 0 ? { $unset: removals } : {}) },
          { returnDocument: 'after', lean: true },
        );
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  return toMerchantView(merchant);
}

export async function createApiKey(clock: Clock, merchantId: string, name: string): Promise<NewApiKeyView> {
  return issueApiKey(clock, merchantId, 'secret', name);
}

export async function listApiKeys(merchantId: string): Promise<ApiKeyView[]> {
  const keys = await ApiKeyModel.find({ merchantId, kind: { $ne: 'shopper' } }).sort({ createdAt: -1 }).limit(200).lean();
  return keys.map(toApiKeyView);
}

/** Revokes a key at once. Revoking an already revoked key changes nothing and answers the same. */
export async function revokeApiKey(clock: Clock, merchantId: string, keyId: string): Promise<ApiKeyView> {
  await ApiKeyModel.updateOne({ _id: keyId, merchantId, revokedAt: { $exists: false } }, { $set: { revokedAt: clock.now() } });
  const key = await ApiKeyModel.findOne({ _id: keyId, merchantId }).lean();
  if (!key) throw new NotFoundError('No API key with this id.');
  return toApiKeyView(key);
}

/** The merchant a bearer key belongs to, if the key is known, not revoked and not expired. */
export async function authenticateApiKey(clock: Clock, secret: string): Promise<MerchantPrincipal | undefined> {
  const key = await ApiKeyModel.findOne({ hash: hashKey(secret) }).lean();
  const now = clock.now();
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now)) return undefined;
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await ApiKeyModel.updateOne({ _id: key._id }, { $set: { lastUsedAt: now } });
  }
  return { merchantId: key.merchantId, apiKeyId: key._id, ...(key.kind === 'shopper' && key.customerId ? { customerId: key.customerId } : {}) };
}

const SHOPPER_SESSION_HOURS = 24;

/**
 * A shopper session: a key that reads and acts for one customer only (their subscriptions' rewards, their
 * points), for the merchant's storefront to hand to a logged-in shopper. It expires after 24 hours.
 */
export async function issueShopperSession(clock: Clock, merchantId: string, customerId: string): Promise<{ token: string; customerId: string; expiresAt: Date }> {
  if (!(await CustomerModel.exists({ _id: customerId, merchantId }))) throw new NotFoundError('No customer with this id.');
  const secret = generateSecret();
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + SHOPPER_SESSION_HOURS * 3_600_000);
  await ApiKeyModel.create({
    _id: newId('key'),
    merchantId,
    customerId,
    kind: 'shopper',
    name: `Shopper session ${customerId}`,
    prefix: secret.slice(0, 12),
    hash: hashKey(secret),
    createdAt: now,
    expiresAt,
  });
  return { token: secret, customerId, expiresAt };
}
