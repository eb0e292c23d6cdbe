import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { findCustomerByEmail } from '../customers/customer.queries';
import { InvalidStateError } from '../shared/errors';
import { newId } from '../shared/ids';
import type { Clock } from '../shared/time';
import { ShopperSignInModel } from './shopper-sign-in.model';

/** How long a sign-in link and its code work. */
export const SIGN_IN_VALID_MS = 15 * 60_000;
/** Wrong codes a request allows before it is spent. */
export const SIGN_IN_CODE_TRIES = 5;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const codeHashOf = (requestId: string, code: string): string => sha256(`${requestId}:${code}`);

/** What the sign-in e-mail needs (only when the address has an account here). */
export interface SignInMail {
  customerId: string;
  email: string;
  /** The link's secret: `/shop/<handle>/sign-in/<token>`. */
  token: string;
  /** Six digits, for typing on the device that asked. */
  code: string;
  expiresAt: Date;
}

/** Who a redeemed link or code signs in. */
export interface SignedInShopper {
  merchantId: string;
  customerId: string;
  email: string;
}

/**
 * A request to sign in with this address at this store. It answers the same whether or not the address has an
 * account (who shops where is not told to whoever types an address); `mail` is there only when it has one.
 */
export async function requestShopperSignIn(clock: Clock, merchantId: string, email: string): Promise<{ requestId: string; mail?: SignInMail }> {
  const customer = await findCustomerByEmail(merchantId, email);
  const requestId = newId('ssi');
  const token = randomBytes(32).toString('base64url');
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const now = clock.now();
  const expiresAt = new Date(now.getTime() + SIGN_IN_VALID_MS);
  await ShopperSignInModel.create({
    _id: requestId,
    merchantId,
    ...(customer ? { customerId: customer._id } : {}),
    email: email.toLowerCase(),
    linkHash: sha256(token),
    codeHash: codeHashOf(requestId, code),
    codeAttempts: 0,
    createdAt: now,
    expiresAt,
  });
  return { requestId, ...(customer ? { mail: { customerId: customer._id, email: customer.email, token, code, expiresAt } } : {}) };
}

const spent = () => new InvalidStateError('This sign-in link has expired or was already used. Ask for a new one.');

/** The link, used once within its 15 minutes (at the button press on the page it opens, never at the GET). */
export async function signInWithLink(clock: Clock, merchantId: string, token: string): Promise<SignedInShopper> {
  if (!/^[A-Za-z0-9_-]{40,60}$/.test(token)) throw spent();
  const now = clock.now();
  const request = await ShopperSignInModel.findOneAndUpdate(
    { linkHash: sha256(token), merchantId, customerId: { $exists: true }, usedAt: { $exists: false }, expiresAt: { $gt: now } },
    { $set: { usedAt: now } },
    { returnDocument: 'after', lean: true },
  );
  if (!request?.customerId) throw spent();
  return { merchantId, customerId: request.customerId, email: request.email };
}

/** Whether this link is still good (the page it opens says so before its button is pressed). */
export async function signInLinkIsOpen(clock: Clock, merchantId: string, token: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{40,60}$/.test(token)) return false;
  const found = await ShopperSignInModel.exists({ linkHash: sha256(token), merchantId, usedAt: { $exists: false }, expiresAt: { $gt: clock.now() } });
  return found !== null;
}

/** The code typed on the device that asked: five tries, once, within the 15 minutes. */
export async function signInWithCode(clock: Clock, merchantId: string, requestId: string, code: string): Promise<SignedInShopper> {
  const now = clock.now();
  // Count the try first, atomically: parallel guesses cannot get more than five between them.
  const request = await ShopperSignInModel.findOneAndUpdate(
    { _id: requestId, merchantId, usedAt: { $exists: false }, expiresAt: { $gt: now }, codeAttempts: { $lt: SIGN_IN_CODE_TRIES } },
    { $inc: { codeAttempts: 1 } },
    { returnDocument: 'after', lean: true },
  );
  if (!request) throw new InvalidStateError('This code has expired or too many wrong codes were tried. Ask for a new e-mail.');
  const typed = Buffer.from(codeHashOf(requestId, code));
  const right = typed.length === request.codeHash.length && timingSafeEqual(typed, Buffer.from(request.codeHash));
  if (!right || !request.customerId) {
    const left = SIGN_IN_CODE_TRIES - request.codeAttempts;
    throw new WrongCodeError(left);
  }
  const used = await ShopperSignInModel.updateOne({ _id: requestId, usedAt: { $exists: false } }, { $set: { usedAt: now } });
  if (used.modifiedCount !== 1) throw spent();
  return { merchantId, customerId: request.customerId, email: request.email };
}

/** A wrong code, with how many tries are left. */
export class WrongCodeError extends InvalidStateError {
  constructor(readonly triesLeft: number) {
    super(
      triesLeft > 0
        ? `That code is not right. ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left.`
        : 'That code is not right, and no tries are left. Ask for a new e-mail.',
    );
  }
}
