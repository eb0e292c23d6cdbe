import { MerchantModel, type Merchant } from './merchant.model';

/** What other domains may read of a merchant: narrow reads of its profile and settings. Nothing here writes. */

export type MerchantProfile = Pick<Merchant, '_id' | 'name' | 'handle' | 'brand' | 'defaultCurrency' | 'timezone' | 'subscriptionSettings'>;

const PROFILE = { name: 1, handle: 1, brand: 1, defaultCurrency: 1, timezone: 1, subscriptionSettings: 1 } as const;

/** Every merchant's id, in order (jobs that go merchant by merchant: stores are few, their shoppers many). */
export async function merchantIds(): Promise<string[]> {
  return (await MerchantModel.find({}, { _id: 1 }).sort({ _id: 1 }).lean()).map((merchant) => merchant._id);
}

/** The merchant's name, currency, time zone and subscription settings (shipping fees among them). */
export async function merchantProfile(merchantId: string): Promise<MerchantProfile | undefined> {
  return (await MerchantModel.findById(merchantId, PROFILE).lean()) ?? undefined;
}

/** The merchant with this e-mail address (the demo store's, for the landing page). */
export async function merchantProfileByEmail(email: string): Promise<MerchantProfile | undefined> {
  return (await MerchantModel.findOne({ email: email.toLowerCase() }, PROFILE).lean()) ?? undefined;
}

/** The store at this storefront address, if any. */
export async function merchantByHandle(handle: string): Promise<MerchantProfile | undefined> {
  return (await MerchantModel.findOne({ handle: handle.toLowerCase() }, PROFILE).lean()) ?? undefined;
}

/** The address the merchant's account was opened with (where a test message or a notice to them goes). */
export async function merchantAddress(merchantId: string): Promise<string | undefined> {
  return (await MerchantModel.findById(merchantId, { email: 1 }).lean())?.email;
}
