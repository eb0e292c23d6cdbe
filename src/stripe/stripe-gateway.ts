import type Stripe from 'stripe';

/**
 * The narrow surface of Stripe our services use. Every write takes an idempotency key derived from the
 * business operation (e.g. `price:<our price id>:create`), stable across restarts and retries, so a
 * repeated operation never makes a second object. Objects carry our ids in metadata for reconciliation.
 */
export interface StripeGateway {
  createProduct(input: { name: string; description?: string; metadata: Record<string, string> }, idempotencyKey: string): Promise<{ id: string }>;
  updateProduct(id: string, input: { name?: string; description?: string; active?: boolean }, idempotencyKey: string): Promise<void>;
  createPrice(
    input: {
      productId: string;
      unitAmount: number;
      currency: string;
      recurring?: { interval: 'week' | 'month'; intervalCount: number };
      metadata: Record<string, string>;
    },
    idempotencyKey: string,
  ): Promise<{ id: string }>;
  deactivatePrice(id: string, idempotencyKey: string): Promise<void>;
  createCustomer(
    input: { email: string; name: string; shipping?: Stripe.CustomerCreateParams.Shipping; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<{ id: string }>;
  updateCustomer(
    id: string,
    input: { email?: string; name?: string; shipping?: Stripe.CustomerUpdateParams.Shipping },
    idempotencyKey: string,
  ): Promise<void>;
}

export function createStripeGateway(stripe: Stripe): StripeGateway {
  return {
    async createProduct(input, idempotencyKey) {
      const product = await stripe.products.create(
        { name: input.name, ...(input.description ? { description: input.description } : {}), metadata: input.metadata },
        { idempotencyKey },
      );
      return { id: product.id };
    },
    async updateProduct(id, input, idempotencyKey) {
      await stripe.products.update(id, input, { idempotencyKey });
    },
    async createPrice(input, idempotencyKey) {
      const price = await stripe.prices.create(
        {
          product: input.productId,
          unit_amount: input.unitAmount,
          currency: input.currency.toLowerCase(),
          ...(input.recurring ? { recurring: { interval: input.recurring.interval, interval_count: input.recurring.intervalCount } } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { id: price.id };
    },
    async deactivatePrice(id, idempotencyKey) {
      await stripe.prices.update(id, { active: false }, { idempotencyKey });
    },
    async createCustomer(input, idempotencyKey) {
      const customer = await stripe.customers.create(
        { email: input.email, name: input.name, ...(input.shipping ? { shipping: input.shipping } : {}), metadata: input.metadata },
        { idempotencyKey },
      );
      return { id: customer.id };
    },
    async updateCustomer(id, input, idempotencyKey) {
      await stripe.customers.update(id, input, { idempotencyKey });
    },
  };
}
