import { STRIPE_MOCK_KEY, stripeTargetFromConfig } from '../../../src/stripe/stripe-client';

const none = { secretKey: undefined, webhookSecret: undefined, host: undefined, port: undefined, protocol: undefined };

describe('stripeTargetFromConfig', () => {
  test('when nothing is configured, then no target is given (the runtime starts a local stripe-mock)', () => {
    expect(stripeTargetFromConfig(none)).toBeUndefined();
  });

  test('when only a host is given, then calls go there with the stripe-mock key', () => {
    expect(stripeTargetFromConfig({ ...none, host: 'stripe-mock', port: 12111, protocol: 'http' })).toEqual({
      secretKey: STRIPE_MOCK_KEY,
      host: 'stripe-mock',
      port: 12111,
      protocol: 'http',
    });
  });

  test('when a key is given with an empty host but a leftover port and protocol, then calls go to Stripe itself', () => {
    expect(stripeTargetFromConfig({ ...none, secretKey: 'sk_test_abc', port: 12111, protocol: 'http' })).toEqual({ secretKey: 'sk_test_abc' });
  });
});
