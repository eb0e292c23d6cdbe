import { randomBytes } from 'node:crypto';
import { SignUpBody } from '../../src/merchants/merchant.schemas';
import { openMerchantAccount } from '../../src/merchants/merchant.service';
import { FakeClock, type Clock } from '../../src/shared/time';

export function buildSignUp(overrides: Partial<SignUpBody> = {}): SignUpBody {
  const tag = randomBytes(4).toString('hex');
  return {
    name: `Roastery ${tag}`,
    email: `owner-${tag}@example.com`,
    password: 'correct horse battery staple',
    defaultCurrency: 'USD',
    timezone: 'America/New_York',
    ...overrides,
  };
}

export interface TestMerchant {
  id: string;
  apiKey: string;
  auth: { Authorization: string };
  email: string;
  password: string;
}

/**
 * A merchant with an open store and its secret key, ready to call the API with: as if it had signed up and
 * confirmed its address. The input passes the sign-up's own validation (password policy included).
 */
export async function createMerchant(overrides: Partial<SignUpBody> = {}, clock: Clock = new FakeClock()): Promise<TestMerchant> {
  const input = SignUpBody.parse(buildSignUp(overrides));
  const { merchant, apiKey } = await openMerchantAccount(clock, input);
  return { id: merchant.id, apiKey: apiKey.secret!, auth: { Authorization: `Bearer ${apiKey.secret!}` }, email: input.email, password: input.password };
}
