import type Stripe from 'stripe';
import type { StripeThrottle } from './stripe-throttle';
import { STRIPE_API_VERSION } from './stripe-client';

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
  updateCustomer(id: string, input: { email?: string; name?: string; shipping?: Stripe.CustomerUpdateParams.Shipping }, idempotencyKey: string): Promise<void>;
  /** A coupon: for one invoice (`once`, the default) or until it is taken off the subscription (`forever`). */
  createCoupon(
    input: { percentOff?: number; amountOffMinor?: number; currency?: string; name: string; duration?: 'once' | 'forever'; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<{ id: string }>;
  /**
   * A promotion code for a coupon. Stripe makes up the customer-facing code (ours is in the metadata: a code is
   * unique per merchant here, but per Stripe account there); we apply it by id.
   */
  createPromotionCode(input: { couponId: string; maxRedemptions?: number; metadata: Record<string, string> }, idempotencyKey: string): Promise<{ id: string }>;
  /** A promotion code no one can redeem any more (discounts it gave stay). */
  deactivatePromotionCode(id: string, idempotencyKey: string): Promise<void>;
  createSubscription(input: StripeSubscriptionInput, idempotencyKey: string): Promise<{ id: string; status: string; itemId: string }>;
  updateSubscription(id: string, input: StripeSubscriptionUpdate, idempotencyKey: string): Promise<void>;
  cancelSubscription(id: string, idempotencyKey: string): Promise<void>;
  createCheckoutSession(input: StripeCheckoutInput, idempotencyKey: string): Promise<{ id: string; url: string | null }>;
  /**
   * A billing portal session that opens straight on Stripe's "update your payment method" flow; after it the
   * shopper is sent to `completedUrl`, and the portal's way back leads to `returnUrl`.
   */
  createCardUpdateSession(input: { customerId: string; returnUrl: string; completedUrl: string }, idempotencyKey: string): Promise<{ id: string; url: string }>;
  /**
   * A pending invoice item: billed on the subscription's next invoice. An add-on in the next box is billed
   * at its price; shipping, and amounts off (perks, offers, loyalty credit: negative), as an amount.
   */
  createInvoiceItem(input: InvoiceItemInput, idempotencyKey: string): Promise<{ id: string }>;
  /** Removes a pending invoice item (the box it billed will not be sent). */
  deleteInvoiceItem(id: string, idempotencyKey: string): Promise<void>;
  // Reads: no idempotency key; they go through the read throttle (Stripe's rate limit, shared by all processes).
  // Writes above go through the write throttle when one is given (against Stripe itself, not stripe-mock).
  /** The current truth of a Stripe subscription; `billingCycleAnchor` is the instant its charges are counted from. */
  retrieveSubscription(id: string): Promise<{ id: string; status: string; itemId: string | undefined; billingCycleAnchor?: Date }>;
  /**
   * The event with its object as our pinned API version shows it now. Listed events carry the object as
   * rendered when they happened, in the account's API version then, which may not be ours.
   */
  refreshEventObject(event: Stripe.Event): Promise<Stripe.Event | undefined>;
  /** Events of these types created at or after `createdFrom`, oldest first (Stripe keeps 30 days). */
  listEvents(input: { createdFrom: Date; types: string[] }): AsyncIterable<Stripe.Event>;
  /** The invoice a payment intent paid, if it paid one. */
  findInvoiceOfPaymentIntent(paymentIntentId: string): Promise<string | undefined>;
  /** A payment method: its customer and, for a card, what we keep of it (never the number). */
  retrievePaymentMethod(id: string): Promise<StripePaymentMethod>;
}

export interface StripePaymentMethod {
  id: string;
  customerId: string | undefined;
  card: { brand: string; last4: string; expMonth: number; expYear: number } | undefined;
}

export type InvoiceItemInput = { customerId: string; subscriptionId: string; description: string; metadata: Record<string, string> } & (
  { priceId: string; quantity: number } | { amountMinor: number; currency: string }
);

export interface StripeSubscriptionInput {
  customerId: string;
  priceId: string;
  defaultPaymentMethod: string;
  trialEnd?: Date;
  couponId?: string;
  /** A promotion code to redeem on the subscription (instead of `couponId`). */
  promotionCodeId?: string;
  metadata: Record<string, string>;
}

/** One discount of a subscription: a coupon, or a promotion code (redeemed in Stripe when applied). */
export type StripeDiscountRef = { couponId: string } | { promotionCodeId: string };

/** The parts of a Stripe subscription we keep in step with our record. */
export interface StripeSubscriptionUpdate {
  /** Swap the subscription's single item to this price; no proration: it applies from the next invoice. */
  item?: { itemId: string; priceId: string };
  pauseCollection?: { resumesAt?: Date } | null;
  cancelAtPeriodEnd?: boolean;
  /** Moves the next charge: Stripe's way is a trial until then, with no proration. */
  trialEnd?: Date;
  /** A once-coupon for the next invoice (a save offer's discount). */
  couponId?: string;
  /** Every discount the subscription has from now on, replacing those it had (instead of `couponId`); empty: none. */
  discounts?: StripeDiscountRef[];
  metadata?: Record<string, string>;
}

export interface StripeCheckoutInput {
  customerId: string;
  priceId: string;
  successUrl: string;
  cancelUrl: string;
  trialDays?: number;
  couponId?: string;
  /** A promotion code to redeem on the subscription (instead of `couponId`). */
  promotionCodeId?: string;
  clientReferenceId: string;
  metadata: Record<string, string>;
}

function discountParam(ref: StripeDiscountRef): { coupon: string } | { promotion_code: string } {
  return 'couponId' in ref ? { coupon: ref.couponId } : { promotion_code: ref.promotionCodeId };
}

/** The discounts of a new subscription or Checkout Session: a promotion code, else a coupon, else none. */
function firstDiscounts(input: { couponId?: string | undefined; promotionCodeId?: string | undefined }) {
  if (input.promotionCodeId) return { discounts: [discountParam({ promotionCodeId: input.promotionCodeId })] };
  if (input.couponId) return { discounts: [discountParam({ couponId: input.couponId })] };
  return {};
}

export function createStripeGateway(stripe: Stripe, options: { readThrottle?: StripeThrottle; writeThrottle?: StripeThrottle } = {}): StripeGateway {
  const beforeRead = async () => {
    await options.readThrottle?.acquire();
  };
  const beforeWrite = async () => {
    await options.writeThrottle?.acquire();
  };
  return {
    async createProduct(input, idempotencyKey) {
      await beforeWrite();
      const product = await stripe.products.create(
        { name: input.name, ...(input.description ? { description: input.description } : {}), metadata: input.metadata },
        { idempotencyKey },
      );
      return { id: product.id };
    },
    async updateProduct(id, input, idempotencyKey) {
      await beforeWrite();
      await stripe.products.update(id, input, { idempotencyKey });
    },
    async createPrice(input, idempotencyKey) {
      await beforeWrite();
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
      await beforeWrite();
      await stripe.prices.update(id, { active: false }, { idempotencyKey });
    },
    async createCustomer(input, idempotencyKey) {
      await beforeWrite();
      const customer = await stripe.customers.create(
        { email: input.email, name: input.name, ...(input.shipping ? { shipping: input.shipping } : {}), metadata: input.metadata },
        { idempotencyKey },
      );
      return { id: customer.id };
    },
    async updateCustomer(id, input, idempotencyKey) {
      await beforeWrite();
      await stripe.customers.update(id, input, { idempotencyKey });
    },
    async createCoupon(input, idempotencyKey) {
      await beforeWrite();
      const coupon = await stripe.coupons.create(
        {
          duration: input.duration ?? 'once',
          name: input.name,
          ...(input.percentOff !== undefined ? { percent_off: input.percentOff } : {}),
          ...(input.amountOffMinor !== undefined ? { amount_off: input.amountOffMinor, currency: input.currency!.toLowerCase() } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { id: coupon.id };
    },
    async createPromotionCode(input, idempotencyKey) {
      await beforeWrite();
      const promotionCode = await stripe.promotionCodes.create(
        {
          promotion: { type: 'coupon', coupon: input.couponId },
          ...(input.maxRedemptions !== undefined ? { max_redemptions: input.maxRedemptions } : {}),
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { id: promotionCode.id };
    },
    async deactivatePromotionCode(id, idempotencyKey) {
      await beforeWrite();
      await stripe.promotionCodes.update(id, { active: false }, { idempotencyKey });
    },
    async createSubscription(input, idempotencyKey) {
      await beforeWrite();
      const subscription = await stripe.subscriptions.create(
        {
          customer: input.customerId,
          items: [{ price: input.priceId, quantity: 1 }],
          default_payment_method: input.defaultPaymentMethod,
          ...(input.trialEnd ? { trial_end: Math.floor(input.trialEnd.getTime() / 1000) } : {}),
          ...firstDiscounts(input),
          payment_behavior: 'allow_incomplete',
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      const item = subscription.items.data[0];
      if (!item) throw new Error(`Stripe subscription ${subscription.id} came back without items`);
      return { id: subscription.id, status: subscription.status, itemId: item.id };
    },
    async updateSubscription(id, input, idempotencyKey) {
      await beforeWrite();
      await stripe.subscriptions.update(
        id,
        {
          ...(input.item ? { items: [{ id: input.item.itemId, price: input.item.priceId }], proration_behavior: 'none' as const } : {}),
          ...(input.pauseCollection !== undefined
            ? {
                pause_collection:
                  input.pauseCollection === null
                    ? ''
                    : {
                        behavior: 'void' as const,
                        ...(input.pauseCollection.resumesAt ? { resumes_at: Math.floor(input.pauseCollection.resumesAt.getTime() / 1000) } : {}),
                      },
              }
            : {}),
          ...(input.cancelAtPeriodEnd !== undefined ? { cancel_at_period_end: input.cancelAtPeriodEnd } : {}),
          ...(input.trialEnd ? { trial_end: Math.floor(input.trialEnd.getTime() / 1000), proration_behavior: 'none' as const } : {}),
          ...(input.discounts !== undefined
            ? { discounts: input.discounts.length > 0 ? input.discounts.map(discountParam) : ('' as const) }
            : input.couponId
              ? { discounts: [{ coupon: input.couponId }] }
              : {}),
          ...(input.metadata ? { metadata: input.metadata } : {}),
        },
        { idempotencyKey },
      );
    },
    async cancelSubscription(id, idempotencyKey) {
      await beforeWrite();
      await stripe.subscriptions.cancel(id, { prorate: false }, { idempotencyKey });
    },
    async createInvoiceItem(input, idempotencyKey) {
      await beforeWrite();
      const item = await stripe.invoiceItems.create(
        {
          customer: input.customerId,
          subscription: input.subscriptionId,
          ...('priceId' in input
            ? { pricing: { price: input.priceId }, quantity: input.quantity }
            : { amount: input.amountMinor, currency: input.currency.toLowerCase() }),
          description: input.description,
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { id: item.id };
    },
    async deleteInvoiceItem(id, idempotencyKey) {
      await beforeWrite();
      await stripe.invoiceItems.del(id, {}, { idempotencyKey });
    },
    async retrieveSubscription(id) {
      await beforeRead();
      const subscription = await stripe.subscriptions.retrieve(id);
      return {
        id: subscription.id,
        status: subscription.status,
        itemId: subscription.items.data[0]?.id,
        ...(subscription.billing_cycle_anchor ? { billingCycleAnchor: new Date(subscription.billing_cycle_anchor * 1000) } : {}),
      };
    },
    async refreshEventObject(event) {
      const object = event.data.object as { id?: string; object?: string };
      if (!object.id) return undefined;
      await beforeRead();
      const retrieve: Record<string, (id: string) => Promise<unknown>> = {
        invoice: (id) => stripe.invoices.retrieve(id),
        subscription: (id) => stripe.subscriptions.retrieve(id),
        charge: (id) => stripe.charges.retrieve(id),
        credit_note: (id) => stripe.creditNotes.retrieve(id),
        'checkout.session': (id) => stripe.checkout.sessions.retrieve(id),
        payment_method: (id) => stripe.paymentMethods.retrieve(id),
      };
      const read = retrieve[object.object ?? ''];
      if (!read) return undefined; // not an object any handler reads
      const fresh = await read(object.id);
      return { ...event, api_version: STRIPE_API_VERSION, data: { ...event.data, object: fresh } } as Stripe.Event;
    },
    async *listEvents(input) {
      const events: Stripe.Event[] = [];
      let startingAfter: string | undefined;
      // Stripe lists newest first; a page at a time, each page a throttled read.
      for (;;) {
        await beforeRead();
        const page = await stripe.events.list({
          created: { gte: Math.floor(input.createdFrom.getTime() / 1000) },
          types: input.types,
          limit: 100,
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        });
        events.push(...page.data);
        if (!page.has_more || page.data.length === 0) break;
        startingAfter = page.data[page.data.length - 1]!.id;
      }
      yield* events.reverse();
    },
    async findInvoiceOfPaymentIntent(paymentIntentId) {
      await beforeRead();
      const payments = await stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntentId }, limit: 1 });
      const invoice = payments.data[0]?.invoice;
      return typeof invoice === 'string' ? invoice : invoice?.id;
    },
    async retrievePaymentMethod(id) {
      await beforeRead();
      const method = await stripe.paymentMethods.retrieve(id);
      const customer = method.customer;
      return {
        id: method.id,
        customerId: typeof customer === 'string' ? customer : (customer?.id ?? undefined),
        card: method.card ? { brand: method.card.brand, last4: method.card.last4, expMonth: method.card.exp_month, expYear: method.card.exp_year } : undefined,
      };
    },
    async createCardUpdateSession(input, idempotencyKey) {
      await beforeWrite();
      const session = await stripe.billingPortal.sessions.create(
        {
          customer: input.customerId,
          return_url: input.returnUrl,
          flow_data: { type: 'payment_method_update', after_completion: { type: 'redirect', redirect: { return_url: input.completedUrl } } },
        },
        { idempotencyKey },
      );
      return { id: session.id, url: session.url };
    },
    async createCheckoutSession(input, idempotencyKey) {
      await beforeWrite();
      const session = await stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer: input.customerId,
          line_items: [{ price: input.priceId, quantity: 1 }],
          success_url: input.successUrl,
          cancel_url: input.cancelUrl,
          client_reference_id: input.clientReferenceId,
          ...firstDiscounts(input),
          subscription_data: {
            metadata: input.metadata,
            ...(input.trialDays ? { trial_period_days: input.trialDays } : {}),
          },
          metadata: input.metadata,
        },
        { idempotencyKey },
      );
      return { id: session.id, url: session.url ?? null };
    },
  };
}
