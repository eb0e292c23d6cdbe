import { customerExists } from '../customers/customer.queries';
import { createHash, randomBytes } from 'node:crypto';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, invalidInput, NotFoundError, UnauthorizedError } from '../shared/errors';
import type { MerchantPrincipal } from '../shared/http/route';
import { newId } from '../shared/ids';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../shared/password';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordWeakness } from '../shared/password-policy';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { ApiKeyModel, type ApiKey } from './api-key.model';
import { MerchantSignUpModel } from './merchant-sign-up.model';
import { MerchantModel, type Merchant } from './merchant.model';
import { subscriptionSettingsOf } from '../subscriptions/subscription-settings';
import { shippingFeesOf } from './shipping-fees';
import { handleCandidates } from './merchant-handles';
import type {
  ApiKeyView,
  LogInBody,
  MerchantView,
  NewApiKeyView,
  NewShopperSessionView,
  ShopperSessionView,
  SignUpAccepted,
  SignUpBody,
  UpdateMerchantBody,
} from './merchant.schemas';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SESSION_HOURS = 12;
/** lastUsedAt is written at most this often per key, so authentication stays a read. */
const LAST_USED_RESOLUTION_MS = 60_000;

function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** 32 random characters (190 bits) after a prefix that says what the secret is: `bxk_` a key, `bxc_` a confirmation. */
function generateSecret(prefix = 'bxk_'): string {
  let out = prefix;
  for (const byte of randomBytes(32)) out += KEY_ALPHABET[byte % KEY_ALPHABET.length];
  return out;
}

/** Only said to whoever holds a confirmation token mailed to the address, never to a sign-up request. */
export class HandleTakenError extends ConflictError {
  override readonly code = 'handle_taken';
  override readonly title = 'This store address is taken';
}

export class EmailTakenError extends ConflictError {
  override readonly code = 'email_taken';
  override readonly title = 'An account with this e-mail already exists';
}

/** How long a sign-up waits for its address to be confirmed. */
export const SIGN_UP_CONFIRMATION_HOURS = 24;

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
    handle: merchant.handle ?? null,
    brand: { accentColor: merchant.brand?.accentColor ?? null, logoUrl: merchant.brand?.logoUrl ?? null },
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

async function issueApiKey(clock: Clock, merchantId: string, kind: ApiKey['kind'], name: string): Promise<NewApiKeyView> {
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

/**
 * Opens a store at once: the merchant and its first secret API key (the only time the key is shown). For a
 * confirmed sign-up, and for tests and tools that make merchants directly; the address is not checked here.
 * An address that already has a store is refused with `EmailTakenError`.
 */
export async function openMerchantAccount(clock: Clock, input: SignUpBody): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
  return createMerchantWithKey(clock, input, await hashPassword(input.password));
}

/**
 * Writes a store under the first free handle made from its name (`bean-there`, then `bean-there-2` …). The
 * unique indexes decide between concurrent sign-ups; a duplicate e-mail is a taken address.
 */
async function insertWithFreeHandle<T>(name: string, insert: (handle: string) => Promise<T>): Promise<T> {
  for (const handle of handleCandidates(name)) {
    if (await MerchantModel.exists({ handle })) continue;
    try {
      return await insert(handle);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      if (await MerchantModel.exists({ handle })) continue; // another store took it meanwhile
      throw new EmailTakenError('This address already has a store: log in with it instead.');
    }
  }
  throw new ConflictError('No free address could be made from this store name; choose another name.');
}

/** Gives a store made before handles existed its handle (at start; idempotent, safe with several processes). */
export async function assignMissingHandles(): Promise<number> {
  let assigned = 0;
  for (const merchant of await MerchantModel.find({ handle: { $exists: false } }, { name: 1 }).lean()) {
    for (const handle of handleCandidates(merchant.name)) {
      if (await MerchantModel.exists({ handle })) continue;
      try {
        const result = await MerchantModel.updateOne({ _id: merchant._id, handle: { $exists: false } }, { $set: { handle } });
        assigned += result.modifiedCount;
        break;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
  }
  return assigned;
}

async function createMerchantWithKey(
  clock: Clock,
  input: Omit<SignUpBody, 'password'>,
  passwordHash: string,
): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
  if (await MerchantModel.exists({ email: input.email })) throw new EmailTakenError('This address already has a store: log in with it instead.');
  const merchant = await insertWithFreeHandle(input.name, (handle) =>
    MerchantModel.create({
      _id: newId('mer'),
      name: input.name,
      email: input.email,
      handle,
      defaultCurrency: input.defaultCurrency,
      timezone: input.timezone,
      passwordHash,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    }).then((created) => created.toObject()),
  );
  const apiKey = await issueApiKey(clock, merchant._id, 'secret', 'Default key');
  return { merchant: toMerchantView(merchant), apiKey };
}

/** A message to an address about its account (the messages domain renders it from views/emails/). */
export interface AccountMessage {
  to: string;
  merchantId?: string;
  type: 'merchant.sign_up_confirmation' | 'merchant.sign_up_attempted';
  /** The message is queued once per address, type and this key. */
  aboutKey: string;
  data: Record<string, unknown>;
}

export interface SignUpDeps {
  clock: Clock;
  /** The installation's public address: the messages link to its pages (`/merchant/confirm`) and its API (`/api/v1`). */
  publicUrl: string;
  /** Queues a message to the address (handed in by the composition: the core does not import messages). */
  queueMessage: (clock: Clock, message: AccountMessage) => Promise<void>;
}

/**
 * A sign-up request. It answers the same whether the address is new or already has a store, and takes about
 * as long (the password is hashed either way), so it tells no one which addresses have accounts. The address
 * itself is told: a new one gets a single-use confirmation token that expires after 24 hours (the store opens
 * when it comes back, `confirmMerchantSignUp`); one that has a store is told someone tried, and how to log in.
 */
export async function requestMerchantSignUp(deps: SignUpDeps, input: SignUpBody): Promise<SignUpAccepted> {
  const { clock } = deps;
  const passwordHash = await hashPassword(input.password);
  const now = clock.now();
  // Sign-ups nobody confirmed hold a password hash: they go once expired.
  await MerchantSignUpModel.deleteMany({ expiresAt: { $lte: now } });
  const existing = await MerchantModel.findOne({ email: input.email }, { _id: 1 }).lean();
  if (existing) {
    // One such message a day at most, however often someone tries.
    await deps.queueMessage(clock, {
      to: input.email,
      merchantId: existing._id,
      type: 'merchant.sign_up_attempted',
      aboutKey: now.toISOString().slice(0, 10),
      data: { apiUrl: `${deps.publicUrl}/api/v1`, signInUrl: `${deps.publicUrl}/merchant/sign-in` },
    });
  } else {
    const token = generateSecret('bxc_');
    const expiresAt = new Date(now.getTime() + SIGN_UP_CONFIRMATION_HOURS * 3_600_000);
    const signUp = await MerchantSignUpModel.create({
      _id: newId('msu'),
      email: input.email,
      name: input.name,
      defaultCurrency: input.defaultCurrency,
      timezone: input.timezone,
      passwordHash,
      tokenHash: hashKey(token),
      createdAt: now,
      expiresAt,
    });
    await deps.queueMessage(clock, {
      to: input.email,
      type: 'merchant.sign_up_confirmation',
      aboutKey: signUp._id,
      data: {
        token,
        expiresAt: iso(expiresAt),
        apiUrl: `${deps.publicUrl}/api/v1`,
        // The page asks before it acts (a mail scanner opens links): its button opens the store.
        confirmUrl: `${deps.publicUrl}/merchant/confirm?token=${encodeURIComponent(token)}`,
      },
    });
  }
  return {
    object: 'merchant_sign_up',
    email: input.email,
    detail: `We have sent a message to ${input.email}. Follow it within ${SIGN_UP_CONFIRMATION_HOURS} hours to open your store.`,
  };
}

/**
 * Opens the store of a sign-up whose token came back: once, before it expires. The token is spent first (a
 * conditional update), so two requests with it cannot both open a store; the address's unique index decides
 * between two sign-ups for one address.
 */
export async function confirmMerchantSignUp(clock: Clock, token: string): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
  const now = clock.now();
  const signUp = await MerchantSignUpModel.findOneAndUpdate(
    { tokenHash: hashKey(token), confirmedAt: { $exists: false }, expiresAt: { $gt: now } },
    { $set: { confirmedAt: now }, $unset: { passwordHash: 1 } },
    { returnDocument: 'before', lean: true },
  );
  if (!signUp?.passwordHash) {
    throw invalidInput(
      'token',
      `is not valid: it is unknown, was already used, or is older than ${SIGN_UP_CONFIRMATION_HOURS} hours. If you confirmed already, log in; otherwise sign up again`,
    );
  }
  const opened = await createMerchantWithKey(clock, signUp, signUp.passwordHash);
  await MerchantSignUpModel.updateOne({ _id: signUp._id }, { $set: { merchantId: opened.merchant.id } });
  return opened;
}

/** Checks e-mail and password (taking as long for an unknown address); the merchant, or a 401 that says nothing more. */
export async function authenticateMerchant(input: LogInBody): Promise<MerchantView> {
  const merchant = await MerchantModel.findOne({ email: input.email }).lean();
  const ok = merchant?.passwordHash ? await verifyPassword(input.password, merchant.passwordHash) : await verifyAgainstDummy(input.password);
  if (!merchant || !ok) throw new UnauthorizedError('The e-mail or password is not right.');
  return toMerchantView(merchant);
}

/** Checks e-mail and password and issues a session key that expires after 12 hours. */
export async function logInMerchant(clock: Clock, input: LogInBody): Promise<{ merchant: MerchantView; apiKey: NewApiKeyView }> {
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
  if (input.handle !== undefined) {
    const owner = await MerchantModel.findOne({ handle: input.handle }, { _id: 1 }).lean();
    if (owner && owner._id !== merchantId) throw new HandleTakenError('Another store has this address: choose another.');
    changes.handle = input.handle;
  }
  for (const [key, value] of Object.entries(input.brand ?? {})) {
    if (value === null) removals[`brand.${key}`] = 1;
    else if (value !== undefined) changes[`brand.${key}`] = value;
  }
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
  let merchant: Merchant | null;
  try {
    merchant =
      Object.keys(changes).length === 0 && Object.keys(removals).length === 0
        ? await MerchantModel.findById(merchantId).lean()
        : await MerchantModel.findOneAndUpdate(
            { _id: merchantId },
            { $set: { ...changes, updatedAt: clock.now() }, ...(Object.keys(removals).length > 0 ? { $unset: removals } : {}) },
            { returnDocument: 'after', lean: true },
          );
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new HandleTakenError('Another store has this address: choose another.');
    throw error;
  }
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  return toMerchantView(merchant);
}

/**
 * A new password for the store's account, given the current one (a 401 that says nothing more otherwise); the
 * new one follows the sign-up's rules (length, not common or leaked, not the e-mail or the store's name).
 * API keys stay valid; log-in session keys (12 hours) are revoked, so every log-in after uses the new password.
 */
export async function changeMerchantPassword(clock: Clock, merchantId: string, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const merchant = await MerchantModel.findById(merchantId).lean();
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const ok = merchant.passwordHash ? await verifyPassword(input.currentPassword, merchant.passwordHash) : await verifyAgainstDummy(input.currentPassword);
  if (!ok) throw invalidInput('currentPassword', 'is not your current password');
  if (input.newPassword.length < PASSWORD_MIN_LENGTH) throw invalidInput('newPassword', `must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (input.newPassword.length > PASSWORD_MAX_LENGTH) throw invalidInput('newPassword', `must be at most ${PASSWORD_MAX_LENGTH} characters`);
  const weakness = passwordWeakness(input.newPassword, { email: merchant.email, names: [merchant.name] });
  if (weakness) throw invalidInput('newPassword', weakness);
  const passwordHash = await hashPassword(input.newPassword);
  const now = clock.now();
  await MerchantModel.updateOne({ _id: merchantId }, { $set: { passwordHash, updatedAt: now } });
  await ApiKeyModel.updateMany({ merchantId, kind: 'session', revokedAt: { $exists: false } }, { $set: { revokedAt: now } });
}

export async function createApiKey(clock: Clock, merchantId: string, name: string): Promise<NewApiKeyView> {
  return issueApiKey(clock, merchantId, 'secret', name);
}

export async function listApiKeys(merchantId: string): Promise<ApiKeyView[]> {
  const keys = await ApiKeyModel.find({ merchantId, kind: { $ne: 'shopper' } })
    .sort({ createdAt: -1 })
    .limit(200)
    .lean();
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
/** A customer's sessions listed at once; more than this alive at one time means something is wrong. */
const SHOPPER_SESSION_LIST_LIMIT = 100;

function toShopperSessionView(key: ApiKey): ShopperSessionView {
  return {
    id: key._id,
    object: 'shopper_session',
    customerId: key.customerId ?? '',
    prefix: key.prefix,
    createdAt: iso(key.createdAt),
    expiresAt: iso(key.expiresAt!),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
  };
}

async function requireCustomer(merchantId: string, customerId: string): Promise<void> {
  if (!(await customerExists(merchantId, customerId))) throw new NotFoundError('No customer with this id.');
}

/**
 * A shopper session: a key that reads and acts for one customer only (their subscriptions' rewards, their
 * points), for the merchant's storefront to hand to a logged-in shopper. It expires after 24 hours and can
 * be revoked before (the shopper logs out, a device is lost).
 */
export async function issueShopperSession(clock: Clock, merchantId: string, customerId: string): Promise<NewShopperSessionView> {
  await requireCustomer(merchantId, customerId);
  const secret = generateSecret();
  const now = clock.now();
  const key = await ApiKeyModel.create({
    _id: newId('key'),
    merchantId,
    customerId,
    kind: 'shopper',
    name: `Shopper session ${customerId}`,
    prefix: secret.slice(0, 12),
    hash: hashKey(secret),
    createdAt: now,
    expiresAt: new Date(now.getTime() + SHOPPER_SESSION_HOURS * 3_600_000),
  });
  return { ...toShopperSessionView(key.toObject()), token: secret };
}

/** A customer's sessions that have not expired yet (revoked ones too, with `revokedAt`), newest first. */
export async function listShopperSessions(clock: Clock, merchantId: string, customerId: string): Promise<ShopperSessionView[]> {
  await requireCustomer(merchantId, customerId);
  const keys = await ApiKeyModel.find({ merchantId, customerId, kind: 'shopper', expiresAt: { $gt: clock.now() } })
    .sort({ createdAt: -1 })
    .limit(SHOPPER_SESSION_LIST_LIMIT)
    .lean();
  return keys.map(toShopperSessionView);
}

/** Revokes a shopper session at once (its next request is refused). Revoking it again changes nothing. */
export async function revokeShopperSession(clock: Clock, merchantId: string, customerId: string, sessionId: string): Promise<ShopperSessionView> {
  const mine = { _id: sessionId, merchantId, customerId, kind: 'shopper' as const };
  await ApiKeyModel.updateOne({ ...mine, revokedAt: { $exists: false } }, { $set: { revokedAt: clock.now() } });
  const key = await ApiKeyModel.findOne(mine).lean();
  if (!key) throw new NotFoundError('This customer has no shopper session with this id.');
  return toShopperSessionView(key);
}
