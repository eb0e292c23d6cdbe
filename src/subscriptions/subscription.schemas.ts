import { SUBSCRIPTION_STATUSES } from './subscription-states';
import { z } from 'zod';
import { PostalAddressInput, PostalAddressView } from '../customers/customer.schemas';
import { ListQuery, listSchema } from '../shared/pagination';
import { Instant, LocalDate as LocalDateField } from '../shared/schemas';
/** A promo code as typed (its letters in any case); the promotions domain says whether it can be used. */
const PromoCodeText = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9-]{3,32}$/, { error: 'must be 3-32 letters, digits or dashes' });
const CadenceKey = z.string().regex(/^(week|month)-\d{1,2}$/, { error: 'must be a cadence key such as month-1 or week-2' });

export const CreateSubscriptionBody = z
  .strictObject({
    customerId: z.string().max(100),
    planId: z.string().max(100),
    variantId: z.string().max(100),
    cadence: CadenceKey,
    paymentMethodId: z
      .string()
      .regex(/^pm_[A-Za-z0-9_]+$/, { error: 'must be a Stripe PaymentMethod id (pm_…)' })
      .optional(),
    checkout: z.literal(true).optional().describe('Pay through a Stripe Checkout page instead of a saved payment method'),
    referralCode: z
      .string()
      .trim()
      .min(4)
      .max(20)
      .optional()
      .describe("A subscriber's referral code: the new shopper gets the welcome offer, and the referrer a reward once the first box is paid"),
    promoCode: PromoCodeText.optional().describe(
      "One of the merchant's promo codes (any case). On the first box it competes with the plan's first-box discount and the welcome or comeback offer: the one worth most on the plan's price applies (a one-box code worth less is refused with `/problems/promo_code_refused`); a code lasting several boxes carries on after it.",
    ),
  })
  .refine((body) => (body.paymentMethodId === undefined) !== (body.checkout === undefined), {
    error: 'give either paymentMethodId or checkout: true',
    path: ['paymentMethodId'],
  })
  .meta({ id: 'CreateSubscriptionRequest' });
export type CreateSubscriptionBody = z.infer<typeof CreateSubscriptionBody>;

export const SkipBody = z
  .strictObject({ cycleKey: LocalDateField.optional().describe('The cycle to skip (its charge date); the next one when absent') })
  .meta({ id: 'SkipRequest' });
export const UnskipBody = z.strictObject({ cycleKey: LocalDateField }).meta({ id: 'UnskipRequest' });

export const PauseBody = z
  .strictObject({
    cycles: z.number().int().min(1).max(12).optional().describe('Pause for this many boxes, then resume by itself'),
    until: LocalDateField.optional().describe('Pause until this date; the first box on or after it is charged'),
  })
  .refine((body) => (body.cycles === undefined) !== (body.until === undefined), { error: 'give either cycles or until', path: ['cycles'] })
  .meta({ id: 'PauseRequest' });

export const SwapBody = z
  .strictObject({
    planId: z.string().max(100).optional().describe('Another plan; the current one when absent'),
    variantId: z.string().max(100),
    cadence: CadenceKey.optional().describe('Keep the current cadence when absent (it must exist in the new plan)'),
  })
  .meta({ id: 'SwapRequest' });

export const SecondChoiceBody = z
  .strictObject({
    variantId: z.string().max(100).nullable().describe("Another variant of the box's plan, sent when theirs is out of stock at the cut-off; null clears it"),
  })
  .meta({ id: 'SecondChoiceRequest' });

export const CancelBody = z
  .strictObject({
    mode: z.enum(['now', 'period_end']),
    reason: z.string().max(64).describe("One of the merchant's cancellation reasons"),
    comment: z.string().max(1000).optional(),
  })
  .meta({ id: 'CancelRequest' });

export const CadenceBody = z.strictObject({ cadence: CadenceKey }).meta({ id: 'ChangeCadenceRequest' });
export const ChargeDateBody = z
  .strictObject({ date: LocalDateField.describe("The new date of the next charge, in the merchant's time zone") })
  .meta({ id: 'ChangeChargeDateRequest' });
export const AddAddonBody = z
  .strictObject({
    addonId: z.string().max(100),
    quantity: z.number().int().min(1).max(20).default(1),
    kind: z
      .enum(['one_time', 'recurring'])
      .optional()
      .describe("`one_time`: the next box only; `recurring`: every box. The add-on's own kind when absent; a one-time add-on cannot recur"),
  })
  .meta({ id: 'AddSubscriptionAddonRequest' });

export const AcceptSaveOfferBody = z
  .strictObject({
    type: z.enum(['skip_next', 'pause', 'discount']),
    cycles: z.number().int().min(1).max(6).optional().describe('For a pause: how many boxes (up to the offer)'),
  })
  .meta({ id: 'AcceptSaveOfferRequest' });

export const BoxAddressBody = z
  .strictObject({
    cycleKey: LocalDateField.optional().describe('The box (its charge date) to send elsewhere; the next box that can still change when absent'),
    address: PostalAddressInput.nullable().describe("Where this box goes instead of the shopper's address; null: back to the shopper's address"),
  })
  .meta({ id: 'BoxAddressRequest' });
export type BoxAddressBody = z.infer<typeof BoxAddressBody>;

export const ApplyPromoCodeBody = z
  .strictObject({ code: PromoCodeText.describe("One of the merchant's promo codes, in any case") })
  .meta({ id: 'ApplyPromoCodeRequest' });

export const SaveOfferList = z
  .strictObject({
    object: z.literal('list'),
    data: z.array(
      z.strictObject({
        type: z.enum(['skip_next', 'pause', 'discount']),
        description: z.string(),
        cycleKey: z.string().optional(),
        cycles: z.number().int().optional(),
        percentOff: z.number().int().optional(),
      }),
    ),
  })
  .meta({ id: 'SaveOfferList' });

export const SubscriptionParams = z.strictObject({ id: z.string().max(100) });
export const SubscriptionAddonParams = z.strictObject({ id: z.string().max(100), lineId: z.string().max(100) });
export const ListSubscriptionsQuery = z.strictObject({
  ...ListQuery,
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
  planId: z.string().max(100).optional(),
  customerId: z.string().max(100).optional(),
});

const Money = z.strictObject({ amountMinor: z.number().int(), currency: z.string() });
const BoxView = z.strictObject({
  planId: z.string(),
  planName: z.string(),
  variantId: z.string(),
  variantName: z.string(),
  cadence: z.strictObject({ key: z.string(), interval: z.enum(['week', 'month']), intervalCount: z.number().int() }),
  price: Money.extend({ id: z.string() }),
});

export const SubscriptionView = z
  .strictObject({
    id: z.string(),
    object: z.literal('subscription'),
    status: z.enum(SUBSCRIPTION_STATUSES),
    customerId: z.string(),
    box: BoxView,
    pendingChange: BoxView.extend({ effectiveCycleKey: z.string() }).nullable(),
    secondChoiceVariantId: z.string().nullable().describe('Sent instead when their variant is out of stock at the cut-off'),
    nextCharge: z
      .strictObject({
        cycleKey: z.string(),
        chargeAt: Instant,
        cutoffAt: Instant,
        box: BoxView,
        lines: z.array(z.strictObject({ description: z.string(), quantity: z.number().int(), amountMinor: z.number().int() })),
        total: Money,
      })
      .nullable()
      .describe(
        'What the shopper will pay next, and when: the first box while Checkout is not paid (`incomplete`); null when nothing is due (paused without end, cancelled)',
      ),
    nextBoxAddress: z
      .strictObject({ cycleKey: z.string(), address: PostalAddressView })
      .nullable()
      .describe("Where the box of `nextCharge` goes when the shopper sent that box elsewhere; null: to the shopper's own address"),
    upcomingCycles: z
      .array(
        z.strictObject({
          cycleKey: z.string(),
          chargeAt: Instant,
          cutoffAt: Instant,
          state: z.enum(['scheduled', 'skipped', 'paused', 'awaiting_payment', 'charged']),
        }),
      )
      .describe(
        'The next cycles. Through the first period the list starts with the first box, charged at sign-up or at Checkout: `awaiting_payment` until the shopper has paid (Checkout open, or the first payment failing), then `charged`',
      ),
    addons: z.array(
      z.strictObject({ id: z.string(), addonId: z.string(), quantity: z.number().int(), kind: z.enum(['one_time', 'recurring']), fromCycleKey: z.string() }),
    ),
    promoCode: z
      .strictObject({
        code: z.string(),
        description: z.string(),
        percentOff: z.number().int().nullable(),
        amountOff: Money.nullable(),
        duration: z.enum(['once', 'repeating', 'forever']),
        durationInBoxes: z.number().int().nullable(),
        fromCycleKey: z.string().describe('The first box it covers'),
        untilCycleKey: z.string().nullable().describe('The last box it covers; null: every box'),
      })
      .nullable()
      .describe('The promo code still running from the first box that can change on (one at a time); null when none'),
    pause: z.strictObject({ pausedAt: Instant, startsOn: z.string(), resumeOn: z.string().nullable() }).nullable(),
    cancellation: z
      .strictObject({ requestedAt: Instant, reason: z.string(), comment: z.string().nullable(), mode: z.enum(['now', 'period_end']), effectiveAt: Instant })
      .nullable(),
    dunning: z
      .strictObject({ since: Instant, attempts: z.number().int(), lastFailureAt: Instant, updatePaymentUrl: z.string().nullable() })
      .nullable()
      .describe('A renewal payment is failing: Stripe retries it; the shopper can pay or update their card at updatePaymentUrl'),
    checkoutUrl: z.string().nullable().describe('Where the shopper pays, for subscriptions created with checkout: true and not yet paid'),
    stripeSubscriptionId: z.string().nullable(),
    history: z.array(z.strictObject({ type: z.string(), at: Instant, data: z.record(z.string(), z.unknown()) })),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Subscription' });
export type SubscriptionView = z.infer<typeof SubscriptionView>;

export const SubscriptionList = listSchema(SubscriptionView.omit({ history: true }), 'SubscriptionList');
