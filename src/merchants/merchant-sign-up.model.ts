import { model, Schema } from 'mongoose';

/**
 * A sign-up waiting for its owner to confirm the e-mail address. Nothing about it is an account yet: the
 * store is created when the token mailed to the address comes back (once, before `expiresAt`). Only a SHA-256
 * of the token is kept (it is 190 random bits, so a fast hash is enough), and the password only as its scrypt
 * hash, which is dropped when the sign-up is confirmed. Several sign-ups may wait for one address: the first
 * confirmed wins, the unique index on merchants' e-mail decides.
 */
export interface MerchantSignUp {
  _id: string;
  email: string;
  name: string;
  defaultCurrency: string;
  timezone: string;
  passwordHash?: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  confirmedAt?: Date;
  merchantId?: string;
}

const MerchantSignUpSchema = new Schema<MerchantSignUp>(
  {
    _id: { type: String, required: true },
    email: { type: String, required: true, lowercase: true, trim: true },
    name: { type: String, required: true },
    defaultCurrency: { type: String, required: true },
    timezone: { type: String, required: true },
    passwordHash: { type: String },
    tokenHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    confirmedAt: { type: Date },
    merchantId: { type: String },
  },
  { collection: 'merchant_sign_ups', versionKey: false },
);
MerchantSignUpSchema.index({ tokenHash: 1 }, { unique: true });
MerchantSignUpSchema.index({ expiresAt: 1 });

export const MerchantSignUpModel = model<MerchantSignUp>('MerchantSignUp', MerchantSignUpSchema);
