import { z } from 'zod';
import type { Listener } from '../events/dispatcher.service';
import { recordCustomerCard } from './customer.service';

const MadeWithCard = z.object({ paymentMethodId: z.string().min(1).max(255) });

/**
 * After `subscription.created` with a saved card: the shopper's card (brand, last 4, expiry) is read from
 * Stripe and kept, so they can be told before it expires. Best effort: Stripe's `payment_method.attached`
 * event records the same card, so a failed read is logged, not retried (a failing listener would hold back
 * the subscription's later facts).
 */
export const recordCardOfNewSubscription: Listener = {
  name: 'customers.record-card-of-new-subscription',
  run: async (deps, fact) => {
    const made = MadeWithCard.safeParse(fact.data);
    if (!made.success || !fact.customerId) return;
    try {
      const method = await deps.stripe.retrievePaymentMethod(made.data.paymentMethodId);
      if (!method.card) return;
      await recordCustomerCard(
        { merchantId: fact.merchantId, customerId: fact.customerId },
        { stripePaymentMethodId: method.id, ...method.card, seenAt: deps.clock.now() },
        { replaces: true },
      );
    } catch (error) {
      deps.logger.warn({ err: error, factId: fact._id }, "the new subscription's card could not be read from Stripe; its payment_method events record it");
    }
  },
};
