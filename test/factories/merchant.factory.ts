import { randomBytes } from 'node:crypto';
import type { SignUpBody } from '../../src/merchants/merchant.schemas';
import { signUpMerchant } from '../../src/merchants/merchant.service';
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

/** A signed-up merchant and its secret key, ready to call the API with. */
export async function createMerchant(overrides: Partial<SignUpBody> = {}, clock: Clock = new FakeClock()): Promise<TestMerchant> {
  const input = buildSignUp(overrides);
  const { merchant, apiKey } = await signUpMerchant(clock, input);
  return { id: merchant.id, apiKey: apiKey.secret!, auth: { Authorization: `Bearer ${apiKey.secret!}` }, email: input.email, password: input.password };
}
