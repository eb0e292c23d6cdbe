import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { customersByIds, findCustomer, searchCustomers } from '../../customers/customer.queries';
import { listTimeline, findFact } from '../../events/timeline.service';
import { adjustPoints, getLoyaltyAccount, listLoyaltyEntries } from '../../loyalty/loyalty.service';
import { customersInTier, loyaltyTiersOf, tierKeysOf, whichHoldTier } from '../../loyalty/loyalty.queries';
import { merchantProfile, type MerchantProfile } from '../../merchants/merchant.queries';
import { listMessages } from '../../messages/message.service';
import { paidBoxCounts } from '../../orders/order.queries';
import { listOrders } from '../../orders/order.service';
import { activePlansOf, findPlan, findPlans } from '../../plans/plan.queries';
import { referralCodeOf, referralsMadeBy } from '../../referrals/referral.queries';
import { AppError, InsufficientBalanceError, NotFoundError } from '../../shared/errors';
import { LocalDate as LocalDateField } from '../../shared/schemas';
import type { Subscription } from '../../subscriptions/subscription.model';
import { subscriptionsOfCustomers, subscriptionsPage, type SubscriberFilter } from '../../subscriptions/subscription.queries';
import { SUBSCRIPTION_STATUSES } from '../../subscriptions/subscription-states';
import { subscriptionSettingsOf } from '../../subscriptions/subscription-settings';
import {
  canDo,
  cancelSubscription,
  getSubscription,
  nextChargedCycle,
  pauseSubscription,
  reactivateSubscription,
  resumeSubscription,
  skipBox,
  swapBox,
  unskipBox,
  type SubscriptionDeps,
} from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, PauseForm, readForm, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { addressLine } from '../shop/address-form';
import { reasonWords } from '../shop/cancel.pages';
import { describeFact } from '../shop/fact-wording';
import { sentence } from '../shop/history-view';
import { dateIn, dateTimeIn } from '../shop/portal-format';
import { localeOf, longDate, money } from '../shop/shop-view';
import { demoNote } from './demo-note';
import { merchantActor, requireMerchant, signedInMerchant, signedInStore } from './merchant-session';

/**
 * The merchant's subscribers (`/merchant/subscribers`): a list searched and filtered on the server (by name or
 * e-mail, status, plan, loyalty tier, tenure) a page at a time, and a page per subscription with everything
 * about the shopper — the next box, the timeline, orders, loyalty, referrals, messages sent — and the changes
 * the merchant can make for them. Each change calls the same service as the API, as the merchant (its fact's
 * actor is `merchant`), and ends on the subscriber's page with a receipt.
 */
export interface SubscriberPagesDeps {
  subscriptions: SubscriptionDeps;
}

const PAGE_SIZE = 25;
/** A search looks at most this many shoppers (then asks for more of the name or e-mail). */
const SEARCH_LIMIT = 100;
/** A tier is walked this many shoppers per page. */
const TIER_BATCH = 50;

export const STATUS_LABELS: Record<string, string> = {
  incomplete: 'Waiting for the first payment',
  trialing: 'Free trial',
  active: 'Active',
  paused: 'Paused',
  past_due: 'Payment failing',
  cancelled: 'Cancelled',
};

const TENURES = {
  'under-3': { label: 'Under 3 months', fromMonths: 3, beforeMonths: undefined },
  '3-12': { label: '3 to 12 months', fromMonths: 12, beforeMonths: 3 },
  'over-12': { label: 'Over 12 months', fromMonths: undefined, beforeMonths: 12 },
} as const;
type Tenure = keyof typeof TENURES;

const SubscriptionId = z.string().regex(/^sub_[0-9a-z]{20}$/);
const Cursor = z.string().regex(/^[A-Za-z0-9_-]{4,300}$/);
const Key = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/);
const blankToUndefined = (value: unknown) => (value === '' ? undefined : value);

const ListQuery = z.object({
  q: z.string().trim().max(100, { error: 'Type at most 100 characters' }).optional(),
  status: z.preprocess(blankToUndefined, z.enum(SUBSCRIPTION_STATUSES, { error: 'Choose a status from the list' }).optional()),
  plan: z.preprocess(blankToUndefined, Key.optional()),
  tier: z.preprocess(blankToUndefined, Key.optional()),
  tenure: z.preprocess(blankToUndefined, z.enum(Object.keys(TENURES) as [Tenure, ...Tenure[]], { error: 'Choose a tenure from the list' }).optional()),
  after: z.preprocess(blankToUndefined, Cursor.optional()),
});
type ListQuery = z.output<typeof ListQuery>;

const CycleForm = z.strictObject({ cycleKey: LocalDateField });
const SwapForm = z.strictObject({
  variantId: z.string({ error: 'Choose a variant' }).regex(/^[a-z]+_[0-9a-z]{1,40}$/, { error: 'Choose a variant' }),
});
const CancelForm = z.strictObject({
  mode: z.enum(['now', 'period_end'], { error: 'Choose when it ends' }),
  reason: z.string({ error: 'Choose a reason' }).min(1, { error: 'Choose a reason' }).max(64, { error: 'Choose one of your reasons' }),
  comment: z
    .string()
    .trim()
    .max(1000, { error: 'Keep it under 1,000 characters' })
    .optional()
    .transform((comment) => comment || undefined),
  confirm: z.literal('yes', { error: 'Tick the box to confirm the cancellation' }),
});
const PointsForm = z.strictObject({
  points: z
    .string({ error: 'Type a number of points' })
    .trim()
    .regex(/^[+-]?\d{1,7}$/, { error: 'Type a whole number of points, with - to take points away (e.g. 50 or -20)' })
    .transform(Number)
    .refine((points) => points !== 0, { error: 'Type a number of points other than 0' }),
  reason: z.string({ error: 'Say why' }).trim().min(1, { error: 'Say why (the shopper may see it)' }).max(200, { error: 'Keep it under 200 characters' }),
  attempt: z.string().regex(/^[A-Za-z0-9_-]{8,40}$/, { error: 'This form expired: reload the page and try again' }),
});

const DoneFact = z.string().regex(/^sub_[0-9a-z]{20}:\d{8}$/);
const DoneEntry = z.string().regex(/^lye_[0-9A-Za-z_-]{1,60}$/);

/** Who did it, in the merchant's words. */
export function whoDidForMerchant(kind: string): string {
  switch (kind) {
    case 'shopper':
      return 'The shopper';
    case 'merchant':
      return 'You';
    case 'stripe':
      return 'Stripe';
    case 'job':
      return 'A job';
    default:
      return 'The system';
  }
}

function monthsBefore(now: Date, months: number): Date {
  const date = new Date(now.getTime());
  date.setUTCMonth(date.getUTCMonth() - months);
  return date;
}

/** Whole months from `from` to `now` (0 in the first month). */
function monthsSince(from: Date, now: Date): number {
  let months = (now.getUTCFullYear() - from.getUTCFullYear()) * 12 + (now.getUTCMonth() - from.getUTCMonth());
  if (now.getUTCDate() < from.getUTCDate()) months -= 1;
  return Math.max(0, months);
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function paidBoxWords(n: number): string {
  return `${n} paid ${n === 1 ? 'box' : 'boxes'}`;
}

function cadenceWords(interval: string, count: number): string {
  return count === 1 ? `every ${interval}` : `every ${count} ${interval}s`;
}

export function subscriberPages(deps: SubscriberPagesDeps): Router {
  const router = Router();
  const subscriptions = deps.subscriptions;
  const clock = subscriptions.clock;
  const pathOf = (id: string) => `/merchant/subscribers/${id}`;

  // ---------------------------------------------------------------------------------------------------------
  // The list
  // ---------------------------------------------------------------------------------------------------------

  router.get('/merchant/subscribers', requireMerchant, demoNote, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const store = await signedInStore(res);
    const locale = localeOf(req);
    const now = clock.now();
    const parsed = ListQuery.safeParse(req.query);
    const [plans, tiers] = await Promise.all([activePlansOf(merchantId), loyaltyTiersOf(merchantId)]);
    const raw = req.query as Record<string, unknown>;
    const typed = (key: string) => (typeof raw[key] === 'string' ? raw[key] : '');
    const filters = {
      q: typed('q'),
      status: typed('status'),
      plan: typed('plan'),
      tier: typed('tier'),
      tenure: typed('tenure'),
      statuses: SUBSCRIPTION_STATUSES.map((status) => ({ value: status, label: STATUS_LABELS[status] ?? status })),
      plans: plans.map((plan) => ({ value: plan._id, label: plan.name })),
      tiers: tiers.map((tier) => ({ value: tier.key, label: tier.name })),
      tenures: Object.entries(TENURES).map(([value, tenure]) => ({ value, label: tenure.label })),
    };
    if (!parsed.success) {
      const form = readForm(ListQuery, req.query);
      return res.status(400).render('merchant/subscribers/list', {
        title: 'Subscribers',
        filters,
        errors: form.ok ? {} : form.errors,
        rows: [],
        note: null,
        next: null,
        first: '/merchant/subscribers',
      });
    }
    const query = parsed.data;
    const filter: SubscriberFilter = {
      status: query.status,
      planId: query.plan,
      ...(query.tenure
        ? {
            startedFrom: TENURES[query.tenure].fromMonths ? monthsBefore(now, TENURES[query.tenure].fromMonths!) : undefined,
            startedBefore: TENURES[query.tenure].beforeMonths ? monthsBefore(now, TENURES[query.tenure].beforeMonths!) : undefined,
          }
        : {}),
    };
    const { rows, next, note } = await findRows(merchantId, query, filter);
    const cards = await rowViews(merchantId, store, rows, tiers, locale, now);
    const params = new URLSearchParams();
    for (const key of ['q', 'status', 'plan', 'tier', 'tenure'] as const) if (query[key]) params.set(key, String(query[key]));
    const base = `/merchant/subscribers${params.size > 0 ? `?${params.toString()}` : ''}`;
    res.render('merchant/subscribers/list', {
      title: 'Subscribers',
      filters,
      errors: {},
      rows: cards,
      note,
      next: next ? `${base}${params.size > 0 ? '&' : '?'}after=${encodeURIComponent(next)}` : null,
      first: query.after ? base : null,
    });
  });

  /** Which subscriptions a list page shows, and the cursor of the next page. */
  async function findRows(
    merchantId: string,
    query: ListQuery,
    filter: SubscriberFilter,
  ): Promise<{ rows: Subscription[]; next: string | null; note: string | null }> {
    const page = (customerIds?: string[]) =>
      firstPageOnBadCursor((startingAfter) => subscriptionsPage(merchantId, { ...filter, customerIds }, { limit: PAGE_SIZE, startingAfter }), query.after);
    if (query.q) {
      // The shoppers first (by e-mail prefix or name words, through their indexes), then their subscriptions.
      const matches = await searchCustomers(merchantId, query.q, SEARCH_LIMIT + 1);
      let ids = matches.slice(0, SEARCH_LIMIT).map((customer) => customer._id);
      if (query.tier) ids = await whichHoldTier(merchantId, query.tier, ids);
      const note =
        matches.length > SEARCH_LIMIT
          ? `More than ${SEARCH_LIMIT} shoppers match “${query.q}”: these are the subscriptions of the first ${SEARCH_LIMIT}. Type more of the name or e-mail.`
          : null;
      const found = ids.length > 0 ? await page(ids) : { data: [], nextCursor: null };
      return { rows: found.data, next: found.nextCursor, note };
    }
    if (query.tier) {
      // A tier is walked a batch of its shoppers at a time (in customer order), with their subscriptions.
      const after = query.after && /^cust_[0-9a-z]{1,40}$/.test(query.after) ? query.after : undefined;
      const customers = await customersInTier(merchantId, query.tier, after, TIER_BATCH);
      const rows = await subscriptionsOfCustomers(merchantId, customers, filter);
      return { rows, next: customers.length === TIER_BATCH ? customers[customers.length - 1]! : null, note: null };
    }
    const found = await page();
    return { rows: found.data, next: found.nextCursor, note: null };
  }

  async function rowViews(
    merchantId: string,
    store: MerchantProfile,
    rows: Subscription[],
    tiers: Array<{ key: string; name: string }>,
    locale: string,
    now: Date,
  ) {
    const customerIds = rows.map((row) => row.customerId);
    const [customers, plans, tierKeys, paidBoxes] = await Promise.all([
      customersByIds(merchantId, customerIds),
      findPlans(merchantId, [...new Set(rows.map((row) => row.box.planId))]),
      tierKeysOf(merchantId, customerIds),
      paidBoxCounts(
        merchantId,
        rows.map((row) => row._id),
      ),
    ]);
    const customerOf = new Map(customers.map((customer) => [customer._id, customer]));
    const planOf = new Map(plans.map((plan) => [plan._id, plan]));
    return rows.map((row) => {
      const customer = customerOf.get(row.customerId);
      const plan = planOf.get(row.box.planId);
      const next = row.status === 'cancelled' ? undefined : nextChargedCycle(row, now);
      const months = monthsSince(row.createdAt, now);
      const tierKey = tierKeys.get(row.customerId);
      return {
        href: pathOf(row._id),
        name: customer?.name ?? 'Unknown shopper',
        email: customer?.email ?? '',
        plan: plan?.name ?? row.box.planId,
        variant: plan?.variants.find((variant) => variant._id === row.box.variantId)?.name ?? row.box.variantId,
        status: row.status,
        statusLabel: STATUS_LABELS[row.status] ?? row.status,
        next: next ? dateIn(next.chargeAt, store.timezone, locale) : '—',
        tenure: `${paidBoxWords(paidBoxes.get(row._id) ?? 0)} · ${months < 1 ? 'under a month' : plural(months, 'month')}`,
        tier: tierKey ? (tiers.find((tier) => tier.key === tierKey)?.name ?? tierKey) : null,
      };
    });
  }

  // ---------------------------------------------------------------------------------------------------------
  // One subscriber
  // ---------------------------------------------------------------------------------------------------------

  async function merchantSubscription(res: Response, id: unknown): Promise<SubscriptionView> {
    const parsed = SubscriptionId.safeParse(id);
    if (!parsed.success) throw new NotFoundError('There is no such subscription.');
    // Another merchant's subscription is not found, exactly like a missing one.
    return getSubscription(subscriptions, signedInMerchant(res).merchantId, parsed.data);
  }

  interface Problem {
    status: number;
    errors: FieldErrors;
    values: Record<string, unknown>;
  }

  async function showSubscriber(req: Request, res: Response, view: SubscriptionView, problem?: Problem): Promise<void> {
    const merchantId = signedInMerchant(res).merchantId;
    const store = await signedInStore(res);
    const locale = localeOf(req);
    const tz = store.timezone;
    const now = clock.now();
    const how = { locale, timezone: tz };
    const [customer, plan, timeline, orders, loyalty, code, referrals, messages] = await Promise.all([
      findCustomer(merchantId, view.customerId),
      findPlan(merchantId, view.box.planId),
      listTimeline(merchantId, { subscriptionId: view.id }, { limit: 30 }),
      listOrders(merchantId, { limit: 10, subscriptionId: view.id }),
      getLoyaltyAccount(clock, merchantId, view.customerId),
      referralCodeOf(merchantId, view.customerId),
      referralsMadeBy(merchantId, view.customerId, 20),
      listMessages(merchantId, { limit: 20, customerId: view.customerId }),
    ]);
    const friends = new Map(
      (
        await customersByIds(
          merchantId,
          referrals.map((r) => r.friendCustomerId),
        )
      ).map((c) => [c._id, c]),
    );
    const receipt = await receiptOf(req, merchantId, view, how);
    const next = view.nextCharge;
    const values = problem?.values ?? {};
    const text = (key: string) => (typeof values[key] === 'string' ? values[key] : '');
    res.status(problem?.status ?? 200).render('merchant/subscribers/show', {
      title: `${customer?.name ?? 'Subscriber'} · Subscribers`,
      base: pathOf(view.id),
      receipt,
      errors: problem?.errors ?? {},
      values: {
        cycles: text('cycles'),
        until: text('until'),
        how: text('how') || 'cycles',
        points: text('points'),
        reason: text('reason'),
        variantId: text('variantId'),
      },
      attempt: randomBytes(12).toString('base64url'),
      shopper: {
        name: customer?.name ?? 'Unknown shopper',
        email: customer?.email ?? '',
        address: customer ? addressLine(customer.shippingAddress, locale) : '',
        since: customer ? dateIn(customer.createdAt, tz, locale) : '',
      },
      subscription: {
        id: view.id,
        status: view.status,
        statusLabel: STATUS_LABELS[view.status] ?? view.status,
        plan: view.box.planName,
        variant: view.box.variantName,
        cadence: cadenceWords(view.box.cadence.interval, view.box.cadence.intervalCount),
        price: money(view.box.price.amountMinor, view.box.price.currency, locale),
        started: dateIn(view.createdAt, tz, locale),
        pendingChange: view.pendingChange
          ? `${view.pendingChange.variantName} from the box of ${longDate(view.pendingChange.effectiveCycleKey, locale)}`
          : null,
        promoCode: view.promoCode ? `${view.promoCode.code} — ${view.promoCode.description}` : null,
        pause: view.pause
          ? `Paused from ${longDate(view.pause.startsOn, locale)}${view.pause.resumeOn ? ` until ${longDate(view.pause.resumeOn, locale)}` : ', with no end date'}`
          : null,
        cancellation: view.cancellation
          ? `${new Date(view.cancellation.effectiveAt) <= now ? 'Ended' : 'Ends'} ${dateIn(view.cancellation.effectiveAt, tz, locale)} — ${reasonWords(view.cancellation.reason)}${view.cancellation.comment ? ` (“${view.cancellation.comment}”)` : ''}`
          : null,
        dunning: view.dunning ? `A payment is failing since ${dateIn(view.dunning.since, tz, locale)} (${plural(view.dunning.attempts, 'attempt')})` : null,
      },
      nextBox: next
        ? {
            chargeAt: dateTimeIn(next.chargeAt, tz, locale),
            cutoffAt: dateTimeIn(next.cutoffAt, tz, locale),
            // Past its cut-off (or the first box, charged at sign-up), the box's contents are fixed.
            changeable: new Date(next.cutoffAt) > now,
            lines: next.lines.map((line) => ({
              description: line.description,
              quantity: line.quantity,
              amount: money(line.amountMinor, next.total.currency, locale),
            })),
            total: money(next.total.amountMinor, next.total.currency, locale),
          }
        : null,
      cycles: view.upcomingCycles.map((cycle) => ({
        cycleKey: cycle.cycleKey,
        date: dateIn(cycle.chargeAt, tz, locale),
        state: cycle.state,
        open: new Date(cycle.cutoffAt) > now,
      })),
      can: {
        skip: canDo(view.status, 'skip'),
        pause: canDo(view.status, 'pause'),
        resume: canDo(view.status, 'resume'),
        swap: canDo(view.status, 'swap'),
        cancel: canDo(view.status, 'cancel') && view.cancellation === null,
        reactivate: view.status !== 'cancelled' && view.cancellation?.mode === 'period_end' && new Date(view.cancellation.effectiveAt) > now,
      },
      variants: (plan?.variants ?? [])
        .filter((variant) => variant.status === 'active')
        .map((variant) => ({ id: variant._id, name: variant.name, current: variant._id === (view.pendingChange ?? view.box).variantId })),
      timeline: timeline.data.map((fact) => ({
        at: fact.at,
        when: dateTimeIn(fact.at, tz, locale),
        who: whoDidForMerchant(fact.actor.kind),
        what: `${sentence(describeFact(fact.type, fact.data, how))}.`,
      })),
      orders: orders.data.map((order) => ({
        id: order.id,
        date: longDate(order.shipOn, locale),
        status: order.status,
        total: money(order.amountDue.amountMinor, order.amountDue.currency, locale),
        tracking: order.shipment ? `${order.shipment.carrier} ${order.shipment.trackingNumber}` : null,
        trackingUrl: order.shipment?.trackingUrl && /^https?:\/\//.test(order.shipment.trackingUrl) ? order.shipment.trackingUrl : null,
        shipped: order.shipment ? dateIn(order.shipment.shippedAt, tz, locale) : null,
        rating: order.rating ? { score: order.rating.score, comment: order.rating.comment } : null,
      })),
      loyalty: {
        points: loyalty.points,
        credit: money(loyalty.credit.amountMinor, loyalty.credit.currency, locale),
        tier: loyalty.tier ? loyalty.tier.name : null,
        expiring: loyalty.expiringSoon ? `${plural(loyalty.expiringSoon.points, 'point')} expire by ${dateIn(loyalty.expiringSoon.by, tz, locale)}` : null,
      },
      referrals: {
        code: code ?? null,
        friends: referrals.map((referral) => ({
          name: friends.get(referral.friendCustomerId)?.name ?? 'A shopper',
          email: friends.get(referral.friendCustomerId)?.email ?? '',
          status: referral.status,
          since: dateIn(referral.createdAt, tz, locale),
          href: pathOf(referral.friendSubscriptionId),
        })),
      },
      messages: messages.data.map((message) => ({
        subject: message.subject,
        status: message.status,
        date: dateTimeIn(message.sentAt ?? message.createdAt, tz, locale),
      })),
      reasons: subscriptionSettingsOf(store).cancellationReasons.map((code) => ({ code, words: reasonWords(code) })),
    });
  }

  /** The receipt of the change just made: a subscription fact, or a points adjustment. */
  async function receiptOf(req: Request, merchantId: string, view: SubscriptionView, how: { locale: string; timezone: string }) {
    const factId = DoneFact.safeParse(req.query.done);
    if (factId.success) {
      const fact = await findFact(merchantId, factId.data);
      if (fact && fact.subjectId === view.id) return `${sentence(describeFact(fact.type, fact.data, how))}.`;
    }
    const entryId = DoneEntry.safeParse(req.query.adjusted);
    if (entryId.success) {
      const entries = await listLoyaltyEntries(merchantId, view.customerId, { limit: 20 });
      const entry = entries.data.find((e) => e.id === entryId.data);
      if (entry) {
        const points = entry.points > 0 ? `${plural(entry.points, 'point')} added` : `${plural(-entry.points, 'point')} taken away`;
        return `${points} (${entry.description}). The shopper now has ${plural(entry.balancePoints, 'point')}.`;
      }
    }
    return null;
  }

  router.get('/merchant/subscribers/:id', requireMerchant, async (req, res) => {
    await showSubscriber(req, res, await merchantSubscription(res, req.params.id));
  });

  /** A change on the shopper's behalf: check the form, make it as the merchant, come back with its receipt. */
  function change<S extends z.ZodType>(
    path: string,
    schema: S,
    act: (as: SubscriptionDeps, merchantId: string, view: SubscriptionView, input: z.output<S>) => Promise<unknown>,
    show: (req: Request, res: Response, view: SubscriptionView, problem: Problem) => Promise<void> = showSubscriber,
  ) {
    router.post(`/merchant/subscribers/:id/${path}`, requireMerchant, async (req, res) => {
      const view = await merchantSubscription(res, req.params.id);
      const merchantId = signedInMerchant(res).merchantId;
      const values = { ...((req.body ?? {}) as Record<string, unknown>) };
      delete values._csrf;
      const form = readForm(schema, req.body);
      if (!form.ok) return show(req, res, view, { status: 400, errors: form.errors, values });
      let done: unknown;
      try {
        done = await act({ ...subscriptions, actor: merchantActor(res) }, merchantId, view, form.value);
      } catch (error) {
        if (error instanceof FieldRefusal) return show(req, res, view, { status: 400, errors: error.errors, values });
        const fields = errorsOf(error);
        if (fields) return show(req, res, view, { status: 400, errors: fields, values });
        if (error instanceof AppError && error.status < 500) return show(req, res, view, { status: error.status, errors: { _form: error.message }, values });
        throw error;
      }
      if (typeof done === 'string') return res.redirect(303, `${pathOf(view.id)}?adjusted=${encodeURIComponent(done)}#receipt`);
      const latest = (await listTimeline(merchantId, { subscriptionId: view.id }, { limit: 1 })).data[0];
      res.redirect(303, `${pathOf(view.id)}${latest ? `?done=${encodeURIComponent(latest.id)}` : ''}#receipt`);
    });
  }

  change('skip', CycleForm, (as, merchantId, view, input) => skipBox(as, merchantId, view.id, input.cycleKey));
  change('unskip', CycleForm, (as, merchantId, view, input) => unskipBox(as, merchantId, view.id, input.cycleKey));
  change('pause', PauseForm, (as, merchantId, view, input) => pauseSubscription(as, merchantId, view.id, input));
  change('resume', z.strictObject({}), (as, merchantId, view) => resumeSubscription(as, merchantId, view.id));
  change('reactivate', z.strictObject({}), (as, merchantId, view) => reactivateSubscription(as, merchantId, view.id));
  change('swap', SwapForm, (as, merchantId, view, input) => swapBox(as, merchantId, view.id, { planId: view.box.planId, variantId: input.variantId }));
  change('points', PointsForm, async (as, merchantId, view, input) => {
    try {
      // The form's attempt keys the entry: pressing twice adjusts once.
      const entry = await adjustPoints(clock, merchantId, view.customerId, { points: input.points, reason: input.reason }, `page:${input.attempt}`, {
        ...(as.actor ? { actor: as.actor } : {}),
        subscriptionId: view.id,
      });
      return entry.id;
    } catch (error) {
      if (error instanceof InsufficientBalanceError) throw new FieldRefusal({ points: `${error.message} Take away at most that many.` });
      throw error;
    }
  });

  // Cancelling asks first: its own page, with the merchant's reasons and a box to tick.
  async function showCancel(req: Request, res: Response, view: SubscriptionView, problem?: Problem): Promise<void> {
    const store = await signedInStore(res);
    const locale = localeOf(req);
    const values = problem?.values ?? {};
    const text = (key: string) => (typeof values[key] === 'string' ? values[key] : '');
    const next = view.upcomingCycles.find((cycle) => new Date(cycle.chargeAt) > clock.now());
    res.status(problem?.status ?? 200).render('merchant/subscribers/cancel', {
      title: 'Cancel the subscription',
      base: pathOf(view.id),
      plan: `${view.box.planName} — ${view.box.variantName}`,
      canCancel: canDo(view.status, 'cancel') && view.cancellation === null,
      periodEnd: next ? dateIn(next.chargeAt, store.timezone, locale) : null,
      errors: problem?.errors ?? {},
      reasons: subscriptionSettingsOf(store).cancellationReasons.map((code) => ({ code, words: reasonWords(code) })),
      values: { mode: text('mode') || 'period_end', reason: text('reason'), comment: text('comment') },
    });
  }

  router.get('/merchant/subscribers/:id/cancel', requireMerchant, async (req, res) => {
    await showCancel(req, res, await merchantSubscription(res, req.params.id));
  });

  change(
    'cancel',
    CancelForm,
    async (as, merchantId, view, input) => {
      const store = await merchantProfile(merchantId);
      if (!store || !subscriptionSettingsOf(store).cancellationReasons.includes(input.reason)) {
        throw new FieldRefusal({ reason: 'Choose one of your reasons' });
      }
      return cancelSubscription(as, merchantId, view.id, { mode: input.mode, reason: input.reason, comment: input.comment });
    },
    showCancel,
  );

  return router;
}

/** A refusal the page decides itself, placed beside its field. */
class FieldRefusal extends Error {
  constructor(readonly errors: FieldErrors) {
    super(Object.values(errors).join(' '));
  }
}
