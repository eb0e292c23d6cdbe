import { z } from 'zod';
import { findAddon } from '../addons/addon.queries';
import type { Listener } from '../events/dispatcher.service';
import type { Fact } from '../events/fact.model';
import type { FactType } from '../events/fact-types';
import { findOrderOfCycle } from '../orders/order.queries';
import type { Plan } from '../plans/plan.model';
import { findPlan } from '../plans/plan.queries';
import { cycleByKey, type BillingSchedule } from '../shared/calendar';
import type { Subscription } from '../subscriptions/subscription.model';
import { findSubscription, nextChargedCycle } from '../subscriptions/subscription.queries';
import { boxTermsOf } from './box-terms';
import { dataOf, FactAddress, linkFor, manageUrl, messagesOf, sendAboutFact } from './fact-messages';
import type { MessageDeps } from './message-sending.service';
import type { SubscriptionChange } from './message-templates';

/**
 * The messages that follow a subscription's facts: the confirmation with its terms, a confirmation of every
 * change (with a link to undo it while that is possible), the cancellation (with a link to reactivate), a
 * failed payment (the first failure only) and its recovery. Each is sent once per fact.
 */

async function subscriptionOf(fact: Pick<Fact, 'merchantId' | 'subscriptionId' | 'subjectId'>): Promise<Subscription | undefined> {
  return findSubscription(fact.merchantId, fact.subscriptionId ?? fact.subjectId);
}

// ---------------------------------------------------------------------------------------------------------
// Confirmation
// ---------------------------------------------------------------------------------------------------------

const Started = z.object({ via: z.string().optional(), status: z.string().optional(), from: z.string().optional() });

/**
 * After `subscription.created`, when it starts at once (a saved card charged, or a trial), or after
 * `subscription.activated` from incomplete (a Checkout paid, or a first payment that needed the shopper):
 * the terms — price, how often, the next charge — and how to cancel. A subscription never paid gets nothing.
 */
export const confirmSubscription: Listener = {
  name: 'messages.confirm-subscription',
  run: async (deps, fact) => {
    const started = dataOf(Started, fact);
    const startsNow = fact.type === 'subscription.created' ? started.via !== 'checkout' && started.status !== 'incomplete' : started.from === 'incomplete';
    if (!startsNow) return;
    const messages = messagesOf(deps);
    const subscription = await subscriptionOf(fact);
    if (!subscription || subscription.status === 'cancelled') return;
    const terms = await boxTermsOf(subscription);
    if (!terms) return;
    const now = messages.clock.now();
    const next = nextChargedCycle(subscription, now);
    const trialEndsAt = subscription.status === 'trialing' && next ? next.chargeAt.toISOString() : null;
    await sendAboutFact(messages, fact, 'subscription.confirmation', {
      ...terms,
      nextChargeAt: next ? next.chargeAt.toISOString() : null,
      trialEndsAt,
      firstBoxOffer: subscription.firstBoxOffer && subscription.firstBoxOffer.source !== 'plan' ? subscription.firstBoxOffer.description : null,
      cutoffDays: subscription.schedule.cutoffDays,
      manageUrl: await manageUrl(messages, subscription),
    });
  },
};

// ---------------------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------------------

function cutoffOf(schedule: BillingSchedule, cycleKey: string): Date | undefined {
  return cycleByKey(schedule, cycleKey)?.cutoffAt;
}

function chargeOf(schedule: BillingSchedule, cycleKey: string): Date | undefined {
  return cycleByKey(schedule, cycleKey)?.chargeAt;
}

const earliest = (...dates: Array<Date | undefined>): Date | undefined =>
  dates.filter((d): d is Date => d !== undefined).reduce<Date | undefined>((min, d) => (!min || d < min ? d : min), undefined);

async function boxWords(merchantId: string, box: { planId: string; variantId: string }): Promise<string> {
  const plan = await findPlan(merchantId, box.planId);
  const variant = plan?.variants.find((v) => v._id === box.variantId);
  return plan ? `${plan.name}: ${variant?.name ?? 'another variant'}` : 'another box';
}

const Cycle = z.object({ cycleKey: z.string() });
const Paused = z.object({ startsOn: z.string(), resumeOn: z.string().nullable().optional(), involuntary: z.boolean().optional() });
const Resumed = z.object({ automatic: z.boolean().optional() });
const Swapped = z.object({
  from: z.object({ planId: z.string(), variantId: z.string() }),
  to: z.object({ planId: z.string(), variantId: z.string() }),
  effectiveCycleKey: z.string(),
});
const CadenceChanged = z.object({ from: z.string(), to: z.string(), fromCycleKey: z.string() });
const ChargeDateChanged = z.object({ from: z.string(), to: z.string() });
const AddonAdded = z.object({ addonId: z.string(), quantity: z.number().int(), kind: z.string(), cycleKey: z.string() });
const AddonRemoved = z.object({ addonId: z.string() });
const BoxAddressSet = z.object({ cycleKey: z.string(), address: FactAddress.nullable() });
const PromoCodeApplied = z.object({ code: z.string(), description: z.string(), fromCycleKey: z.string() });

type Undo = {
  action: 'subscription.unskip' | 'subscription.skip' | 'subscription.resume' | 'subscription.undo';
  data?: Record<string, string>;
  until: Date | undefined;
};

const cadenceOf = (plan: Plan | undefined, key: string) => {
  const cadence = plan?.cadences.find((c) => c.key === key);
  return cadence ? { interval: cadence.interval, intervalCount: cadence.intervalCount } : undefined;
};

/** The facts a change confirmation follows. */
const CHANGE_FACTS = [
  'subscription.skipped',
  'subscription.unskipped',
  'subscription.paused',
  'subscription.resumed',
  'subscription.swapped',
  'subscription.cadence_changed',
  'subscription.charge_date_changed',
  'subscription.addon_added',
  'subscription.addon_removed',
  'subscription.reactivated',
  'subscription.box_address_set',
  'subscription.promo_code_applied',
] as const satisfies readonly FactType[];
type ChangeFact = (typeof CHANGE_FACTS)[number];
const isChangeFact = (type: FactType): type is ChangeFact => (CHANGE_FACTS as readonly FactType[]).includes(type);

/** The change a fact records, in the message's terms, and how it is undone (if it can be). */
async function changeOf(deps: MessageDeps, fact: Fact, subscription: Subscription): Promise<{ change: SubscriptionChange; undo?: Undo } | undefined> {
  const { merchantId } = subscription;
  const schedule = subscription.schedule;
  const type = fact.type;
  if (!isChangeFact(type)) return undefined;
  switch (type) {
    case 'subscription.skipped': {
      const { cycleKey } = dataOf(Cycle, fact);
      const chargeAt = chargeOf(schedule, cycleKey);
      if (!chargeAt) return undefined;
      return {
        change: { kind: 'skipped', cycleKey, chargeAt: chargeAt.toISOString() },
        undo: { action: 'subscription.unskip', data: { cycleKey }, until: cutoffOf(schedule, cycleKey) },
      };
    }
    case 'subscription.unskipped': {
      const { cycleKey } = dataOf(Cycle, fact);
      const chargeAt = chargeOf(schedule, cycleKey);
      if (!chargeAt) return undefined;
      return {
        change: { kind: 'unskipped', cycleKey, chargeAt: chargeAt.toISOString() },
        undo: { action: 'subscription.skip', data: { cycleKey }, until: cutoffOf(schedule, cycleKey) },
      };
    }
    case 'subscription.paused': {
      const data = dataOf(Paused, fact);
      const involuntary = data.involuntary ?? false;
      const resumeOn = data.resumeOn ?? null;
      return {
        change: { kind: 'paused', startsOn: data.startsOn, resumeOn, involuntary },
        // A pause the shopper chose is undone by resuming, until it ends on its own.
        ...(involuntary ? {} : { undo: { action: 'subscription.resume', until: resumeOn ? chargeOf(schedule, resumeOn) : undefined } }),
      };
    }
    case 'subscription.resumed': {
      const next = nextChargedCycle(subscription, deps.clock.now());
      return { change: { kind: 'resumed', automatic: dataOf(Resumed, fact).automatic ?? false, nextChargeAt: next ? next.chargeAt.toISOString() : null } };
    }
    case 'subscription.swapped': {
      const data = dataOf(Swapped, fact);
      return {
        change: {
          kind: 'swapped',
          from: await boxWords(merchantId, data.from),
          to: await boxWords(merchantId, data.to),
          effectiveCycleKey: data.effectiveCycleKey,
        },
        undo: { action: 'subscription.undo', data: { factId: fact._id }, until: cutoffOf(schedule, data.effectiveCycleKey) },
      };
    }
    case 'subscription.cadence_changed': {
      const data = dataOf(CadenceChanged, fact);
      const plan = await findPlan(merchantId, subscription.box.planId);
      const to = cadenceOf(plan, data.to);
      if (!to) return undefined;
      return {
        change: { kind: 'cadence_changed', from: cadenceOf(plan, data.from) ?? null, to, fromCycleKey: data.fromCycleKey },
        undo: { action: 'subscription.undo', data: { factId: fact._id }, until: cutoffOf(schedule, data.fromCycleKey) },
      };
    }
    case 'subscription.charge_date_changed': {
      const data = dataOf(ChargeDateChanged, fact);
      // Moving back needs both boxes open: the new date's and the old one's (on a calendar anchored there).
      const back = { ...schedule, anchorOn: data.from, ...(schedule.cadence.interval === 'month' ? { anchorDay: Number(data.from.slice(8, 10)) } : {}) };
      return {
        change: { kind: 'charge_date_changed', from: data.from, to: data.to },
        undo: { action: 'subscription.undo', data: { factId: fact._id }, until: earliest(cutoffOf(schedule, data.to), cutoffOf(back, data.from)) },
      };
    }
    case 'subscription.addon_added': {
      const data = dataOf(AddonAdded, fact);
      const addon = await findAddon(merchantId, data.addonId);
      return {
        change: {
          kind: 'addon_added',
          addonName: addon?.name ?? 'An extra',
          quantity: data.quantity,
          recurring: data.kind === 'recurring',
          cycleKey: data.cycleKey,
        },
        undo: { action: 'subscription.undo', data: { factId: fact._id }, until: cutoffOf(schedule, data.cycleKey) },
      };
    }
    case 'subscription.addon_removed': {
      const addon = await findAddon(merchantId, dataOf(AddonRemoved, fact).addonId);
      return { change: { kind: 'addon_removed', addonName: addon?.name ?? 'An extra' } };
    }
    case 'subscription.reactivated':
      return { change: { kind: 'reactivated' } };
    case 'subscription.box_address_set': {
      const data = dataOf(BoxAddressSet, fact);
      return {
        change: { kind: 'box_address_set', cycleKey: data.cycleKey, to: data.address },
        undo: { action: 'subscription.undo', data: { factId: fact._id }, until: cutoffOf(schedule, data.cycleKey) },
      };
    }
    case 'subscription.promo_code_applied': {
      const data = dataOf(PromoCodeApplied, fact);
      return { change: { kind: 'promo_code_applied', code: data.code, description: data.description, fromCycleKey: data.fromCycleKey } };
    }
  }
}

/**
 * After a change of a subscription (skip, un-skip, pause, resume, swap, cadence, charge date, extras,
 * reactivation): what changed, in the shopper's words, with a link to undo it while that is possible.
 */
export const confirmSubscriptionChange: Listener = {
  name: 'messages.confirm-subscription-change',
  run: async (deps, fact) => {
    const messages = messagesOf(deps);
    const subscription = await subscriptionOf(fact);
    if (!subscription) return;
    const described = await changeOf(messages, fact, subscription);
    if (!described) return;
    const undo = described.undo
      ? await linkFor(messages, {
          action: described.undo.action,
          merchantId: subscription.merchantId,
          subjectId: subscription._id,
          ...(described.undo.data ? { data: described.undo.data } : {}),
          possibleUntil: described.undo.until,
        })
      : null;
    await sendAboutFact(messages, fact, 'subscription.changed', {
      change: described.change,
      undoUrl: undo?.url ?? null,
      undoUntil: undo ? undo.expiresAt.toISOString() : null,
      manageUrl: await manageUrl(messages, subscription),
    });
  },
};

// ---------------------------------------------------------------------------------------------------------
// Cancellation
// ---------------------------------------------------------------------------------------------------------

const Cancelled = z.object({
  reason: z.string().optional(),
  mode: z.string().optional(),
  effectiveAt: z.string().optional(),
  involuntary: z.boolean().optional(),
  from: z.string().nullable().optional(),
});

/**
 * After `subscription.cancellation_scheduled` (it ends at the end of its period: a link keeps it going) or
 * `subscription.cancelled` (it has ended: a link subscribes again with the same box). A Checkout that was
 * never paid gets nothing; a subscription set to end that then ends is told once, when it was set.
 */
export const tellCancelled: Listener = {
  name: 'messages.tell-cancelled',
  run: async (deps, fact) => {
    const data = dataOf(Cancelled, fact);
    if (data.from === 'incomplete') return;
    const messages = messagesOf(deps);
    const subscription = await subscriptionOf(fact);
    if (!subscription) return;
    const scheduled = fact.type === 'subscription.cancellation_scheduled';
    if (!scheduled && data.reason === 'stripe' && subscription.cancellation?.mode === 'period_end') return;
    const terms = await boxTermsOf(subscription);
    const effectiveAt = data.effectiveAt ?? subscription.cancellation?.effectiveAt.toISOString() ?? fact.at.toISOString();
    const reactivate = await linkFor(messages, {
      action: 'subscription.reactivate',
      merchantId: subscription.merchantId,
      subjectId: subscription._id,
      possibleUntil: scheduled ? new Date(effectiveAt) : undefined,
    });
    await sendAboutFact(messages, fact, 'subscription.cancelled', {
      planName: terms?.planName ?? 'your',
      scheduled,
      effectiveAt,
      involuntary: data.involuntary ?? data.reason === 'payment_failed',
      reactivateUrl: reactivate?.url ?? null,
      reactivateUntil: reactivate ? reactivate.expiresAt.toISOString() : null,
    });
  },
};

// ---------------------------------------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------------------------------------

const PaymentFailed = z.object({ startsDunning: z.boolean(), updatePaymentUrl: z.string().optional() });

/**
 * After `subscription.payment_failed`, the first failure only (the one that starts the dunning; Stripe's
 * retries that fail again say nothing more): a link to pay, Stripe's hosted invoice page (or, without one,
 * a link to give a new card).
 */
export const tellPaymentFailed: Listener = {
  name: 'messages.tell-payment-failed',
  run: async (deps, fact) => {
    const data = dataOf(PaymentFailed, fact);
    if (!data.startsDunning || !fact.customerId) return;
    const messages = messagesOf(deps);
    const subscription = await subscriptionOf(fact);
    const hosted = data.updatePaymentUrl && /^https:\/\//.test(data.updatePaymentUrl) ? data.updatePaymentUrl : undefined;
    const updateUrl =
      hosted ?? (await linkFor(messages, { action: 'payment.update-card', merchantId: fact.merchantId, subjectId: fact.customerId }))?.url ?? null;
    if (!updateUrl) return;
    const periodStart = subscription?.dunning?.periodStart;
    const cycle = subscription && periodStart ? nextChargedCycleAt(subscription, periodStart) : undefined;
    await sendAboutFact(messages, fact, 'payment.failed', { updateUrl, cycleKey: cycle ?? null });
  },
};

/** The cycle charged at `instant` (give or take Stripe's few seconds), if it is one. */
function nextChargedCycleAt(subscription: Subscription, instant: Date): string | undefined {
  const cycle = nextChargedCycle(subscription, new Date(instant.getTime() - 12 * 3_600_000));
  return cycle && Math.abs(cycle.chargeAt.getTime() - instant.getTime()) <= 12 * 3_600_000 ? cycle.cycleKey : undefined;
}

const Recovered = z.object({ amountPaidMinor: z.number().int().optional(), cycleKey: z.string().optional() });

/** After `subscription.recovered`: the failed payment went through after all (or Stripe says all is well again). */
export const tellPaymentRecovered: Listener = {
  name: 'messages.tell-payment-recovered',
  run: async (deps, fact) => {
    const data = dataOf(Recovered, fact);
    const messages = messagesOf(deps);
    const order = data.cycleKey && fact.subscriptionId ? await findOrderOfCycle(fact.merchantId, fact.subscriptionId, data.cycleKey) : undefined;
    const amountPaid = data.amountPaidMinor !== undefined && order ? { amountMinor: data.amountPaidMinor, currency: order.currency } : null;
    await sendAboutFact(messages, fact, 'payment.recovered', { amountPaid });
  },
};
