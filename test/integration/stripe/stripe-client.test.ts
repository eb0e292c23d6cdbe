import Stripe from 'stripe';
import { createStripeClient } from '../../../src/stripe/stripe-client';
import { testStripeTarget } from '../../helpers/test-env';

describe('the Stripe client against stripe-mock (strict version check)', () => {
  test('when our client writes with an idempotency key, then stripe-mock accepts the pinned API version', async () => {
    const stripe = createStripeClient(testStripeTarget());
    const customer = await stripe.customers.create({ email: 'ana@example.com' }, { idempotencyKey: 'test:create-customer:ana' });
    expect(customer.object).toBe('customer');
  });

  test('when a client sends another API version, then stripe-mock refuses it (so the check above can fail)', async () => {
    const target = testStripeTarget();
    const { host, port, protocol } = target;
    const other = new Stripe(target.secretKey, { host, port, protocol, apiVersion: '2024-06-20' as never, maxNetworkRetries: 0 });
    await expect(other.customers.create({ email: 'ana@example.com' })).rejects.toThrow(/doesn't match version in OpenAPI specification/);
  });
});
