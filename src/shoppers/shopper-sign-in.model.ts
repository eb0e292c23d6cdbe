import { model, Schema } from 'mongoose';

/**
 * One request to sign in without a password: the e-mail carries a link (its token) and a 6-digit code (for when
 * the link opens on another device). Only hashes are stored. Either one signs in once; the code allows five
 * tries; both end at `expiresAt` (15 minutes). A request for an address with no account here is stored too
 * (without a customer): it answers the same, and nothing can be signed into with it.
 */
export interface ShopperSignIn {
  _id: string;
  merchantId: string;
  customerId?: string;
  email: string;
  linkHash: string;
  codeHash: string;
  codeAttempts: number;
  createdAt: Date;
  expiresAt: Date;
  usedAt?: Date;
}

const ShopperSignInSchema = new Schema<ShopperSignIn>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    customerId: { type: String },
    email: { type: String, required: true },
    linkHash: { type: String, required: true },
    codeHash: { type: String, required: true },
    codeAttempts: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date },
  },
  { collection: 'shopper_sign_ins', versionKey: false },
);
ShopperSignInSchema.index({ linkHash: 1 }, { unique: true });
// MongoDB deletes a request a day after it expired.
ShopperSignInSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 86_400 });

export const ShopperSignInModel = model<ShopperSignIn>('ShopperSignIn', ShopperSignInSchema);
