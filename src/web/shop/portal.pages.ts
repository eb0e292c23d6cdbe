import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findCustomer } from '../../customers/customer.queries';
import { getSubscriptionRewards } from '../../shoppers/shopper-rewards.service';
import { findFact, latestFactOf } from '../../events/timeline.service';
import { AppError } from '../../shared/errors';
import { LocalDate as LocalDateField } from '../../shared/schemas';
import {
  canDo,
  isUndoable,
  listSubscriptions,
  pauseSubscription,
  reactivateSubscription,
  resumeSubscription,
  skipBox,
  undoChange,
  unskipBox,
  type SubscriptionDeps,
} from '../../subscriptions/subscription.service';
import type { SubscriptionView } from '../../subscriptions/subscription.schemas';
import { errorsOf, PauseForm, readForm, type FieldErrors } from '../forms';
import { openWebSessions } from '../web-session.service';
import { addressLine } from './address-form';
import { describeFact } from './fact-wording';
import { asShopper, portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { countdown, dateIn, dateTimeIn } from './portal-format';
import { brandOf, localeOf, longDate, money } from './shop-view';

/**
 * The shopper's portal at one store: their subscriptions, and for each the next box (what is in it, what it
 * costs, when it is charged, how long it can still change), the coming boxes to skip or bring back, pause and
 * resume, reactivate. Every change is a form that posts, redirects back to the page (so a reload does not post
 * twice) with a receipt, and offers to undo it while undoing is possible. Other changes have their own pages.
 */
export interface PortalDeps {
  subscriptions: SubscriptionDeps;
}

const STATUS_LABELS: Record<string, string> = {
  incomplete: 'Waiting for the first payment',
  trialing: 'Free trial',
  active: 'Active',
  paused: 'Paused',
  past_due: 'Payment failing',
  cancelled: 'Cancelled',
};

const CycleForm = z.strictObject({ cycleKey: LocalDateField });
const UndoForm = z.strictObject({ factId: z.string().regex(/^sub_[0-9a-z]{20}:\d{8}$/) });
const Receipt = z.string().regex(/^sub_[0-9a-z]{20}:\d{8}$/);

export function portalPages(deps: PortalDeps): Router {
  const router = Router();
  const clock = deps.subscriptions.clock;

  router.get('/shop/:handle/account', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    const locale = localeOf(req);
    const { data } = await listSubscriptions(deps.subscriptions, place.store._id, { limit: 50, customerId: place.shopper.customerId });
    const sessions = await openWebSessions(clock, { audience: 'shopper', merchantId: place.store._id, customerId: place.shopper.customerId });
    const customer = await findCustomer(place.store._id, place.shopper.customerId);
    res.render('shop/account', {
      title: 'My subscriptions',
      brand: brandOf(place.store),
      email: place.shopper.email,
      address: customer ? addressLine(customer.shippingAddress, locale) : '',
      subscriptions: data.map((s) => ({
        href: `/shop/${place.store.handle}/subscriptions/${s.id}`,
        name: `${s.box.planName} — ${s.box.variantName}`,
        status: s.status,
        statusLabel: STATUS_LABELS[s.status] ?? s.status,
        next: s.nextCharge
          ? `${dateIn(s.nextCharge.chargeAt, place.store.timezone, locale)} · ${money(s.nextCharge.total.amountMinor, s.nextCharge.total.currency, locale)}`
          : null,
      })),
      devices: sessions.map((session) => ({
        device: deviceName(session.userAgent),
        lastSeen: dateTimeIn(session.lastSeenAt, place.store.timezone, locale),
        current: session._id === place.shopper.sessionId,
      })),
    });
  });

  const pageOf = (place: PortalPlace, id: string) => `/shop/${place.store.handle}/subscriptions/${id}`;

  async function showSubscription(req: Request, res: Response, place: PortalPlace, view: SubscriptionView, status = 200, errors: FieldErrors = {}) {
    const locale = localeOf(req);
    const tz = place.store.timezone;
    const now = clock.now();
    const receiptId = Receipt.safeParse(req.query.done);
    const receipt = receiptId.success ? await receiptOf(place, view, receiptId.data) : null;
    const next = view.nextCharge;
    const [customer, rewards] = await Promise.all([
      findCustomer(place.store._id, place.shopper.customerId),
      next ? getSubscriptionRewards(clock, place.store._id, view.id, place.shopper.customerId) : undefined,
    ]);
    // A box is named by its date in the store's calendar; the moments (charge, cut-off) are in the shopper's own zone.
    const shopperTz = customer?.timezone ?? tz;
    const credit = rewards?.loyalty?.credit;
    res.status(status).render('shop/subscription', {
      title: view.box.planName,
      brand: brandOf(place.store),
      base: pageOf(place, view.id),
      id: view.id,
      name: view.box.planName,
      variant: view.box.variantName,
      cadence: cadenceWords(view.box.cadence.interval, view.box.cadence.intervalCount),
      status: view.status,
      statusLabel: STATUS_LABELS[view.status] ?? view.status,
      receipt,
      errors,
      nextBox: next
        ? {
            date: dateIn(next.chargeAt, tz, locale),
            chargeAt: dateTimeIn(next.chargeAt, shopperTz, locale),
            cutoffAt: dateTimeIn(next.cutoffAt, shopperTz, locale),
            // What the box builder will add at the cut-off, as the box is now (a surprise gift stays a surprise).
            perks: (rewards?.perks ?? []).filter((perk) => perk.inNextBox).map((perk) => perk.name),
            credit: credit && credit.amountMinor > 0 ? money(credit.amountMinor, credit.currency, locale) : null,
            cutoffIn: countdown(next.cutoffAt, now),
            lines: next.lines.map((line) => ({
              description: line.description,
              quantity: line.quantity,
              amount: money(line.amountMinor, next.total.currency, locale),
            })),
            total: money(next.total.amountMinor, next.total.currency, locale),
            awaitingPayment: view.status === 'incomplete',
            goesTo: view.nextBoxAddress?.cycleKey === next.cycleKey ? addressLine(view.nextBoxAddress.address, locale) : null,
          }
        : null,
      cycles: view.upcomingCycles.map((cycle) => ({
        cycleKey: cycle.cycleKey,
        date: dateIn(cycle.chargeAt, tz, locale),
        state: cycle.state,
        open: new Date(cycle.cutoffAt) > now,
      })),
      canSkip: canDo(view.status, 'skip'),
      canPause: canDo(view.status, 'pause'),
      canResume: canDo(view.status, 'resume'),
      canReactivate: view.status === 'cancelled' || view.cancellation !== null,
      canCancel: canDo(view.status, 'cancel') && view.cancellation === null,
      pause: view.pause
        ? { startsOn: longDate(view.pause.startsOn, locale), resumeOn: view.pause.resumeOn ? longDate(view.pause.resumeOn, locale) : null }
        : null,
      cancellation: view.cancellation
        ? { effective: dateIn(view.cancellation.effectiveAt, tz, locale), ended: new Date(view.cancellation.effectiveAt) <= now }
        : null,
      payNow: view.dunning?.updatePaymentUrl ?? (view.status === 'incomplete' ? view.checkoutUrl : null),
      pauseChoices: Array.from({ length: 12 }, (_, index) => index + 1),
      today: view.upcomingCycles[0]?.cycleKey ?? '',
    });
  }

  /** The receipt of a change this shopper just made: what it did, and an undo while that is possible. */
  async function receiptOf(place: PortalPlace, view: SubscriptionView, factId: string) {
    const fact = await findFact(place.store._id, factId);
    if (!fact || fact.subjectId !== view.id) return null;
    const latest = await latestFactOf(place.store._id, view.id);
    return {
      message: describeFact(fact.type, fact.data),
      // Undo only the latest change (undoing an older one under a newer could surprise).
      factId: isUndoable(fact.type) && latest?._id === fact._id && fact.actor.kind === 'shopper' ? fact._id : null,
    };
  }

  router.get('/shop/:handle/subscriptions/:id', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    await showSubscription(req, res, place, await shopperSubscription(deps.subscriptions, place, req.params.id));
  });

  /** A change from the subscription's page: check the form, make it as the shopper, come back with its receipt. */
  function change<S extends z.ZodType>(
    path: string,
    schema: S,
    act: (as: SubscriptionDeps, place: PortalPlace, id: string, input: z.output<S>) => Promise<unknown>,
  ) {
    router.post(`/shop/:handle/subscriptions/:id/${path}`, async (req, res) => {
      const place = await portalPlace(clock, req, res);
      if (!place) return;
      const view = await shopperSubscription(deps.subscriptions, place, req.params.id);
      const form = readForm(schema, req.body);
      if (!form.ok) return showSubscription(req, res, place, view, 400, form.errors);
      try {
        await act(asShopper(deps.subscriptions, place), place, view.id, form.value);
      } catch (error) {
        const fields = errorsOf(error);
        if (fields) return showSubscription(req, res, place, view, 400, fields);
        if (error instanceof AppError && error.status < 500) return showSubscription(req, res, place, view, error.status, { _form: error.message });
        throw error;
      }
      const latest = await latestFactOf(place.store._id, view.id);
      res.redirect(303, `${pageOf(place, view.id)}${latest ? `?done=${encodeURIComponent(latest._id)}` : ''}#receipt`);
    });
  }

  change('skip', CycleForm, (as, place, id, input) => skipBox(as, place.store._id, id, input.cycleKey));
  change('unskip', CycleForm, (as, place, id, input) => unskipBox(as, place.store._id, id, input.cycleKey));
  change('pause', PauseForm, (as, place, id, input) => pauseSubscription(as, place.store._id, id, input));
  change('resume', z.strictObject({}), (as, place, id) => resumeSubscription(as, place.store._id, id));
  change('reactivate', z.strictObject({}), (as, place, id) => reactivateSubscription(as, place.store._id, id));
  change('undo', UndoForm, async (as, place, id, input) => {
    const fact = await findFact(place.store._id, input.factId);
    if (!fact || fact.subjectId !== id || fact.actor.kind !== 'shopper') throw new UndoRefused();
    return undoChange(as, place.store._id, id, input.factId);
  });

  return router;
}

class UndoRefused extends AppError {
  readonly status = 409;
  readonly code = 'invalid_state';
  readonly title = 'This change cannot be undone';
  constructor() {
    super('This change cannot be undone here.');
  }
}

function cadenceWords(interval: string, count: number): string {
  return count === 1 ? `every ${interval}` : `every ${count} ${interval}s`;
}

/** "Chrome on Android", roughly, from a user agent (for the list of signed-in devices). */
export function deviceName(userAgent: string | undefined): string {
  if (!userAgent) return 'A browser';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Firefox\//.test(userAgent)
      ? 'Firefox'
      : /Chrome\/|Chromium\//.test(userAgent)
        ? 'Chrome'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : 'A browser';
  const system = /Android/.test(userAgent)
    ? 'Android'
    : /iPhone|iPad/.test(userAgent)
      ? 'iOS'
      : /Mac OS X/.test(userAgent)
        ? 'macOS'
        : /Windows/.test(userAgent)
          ? 'Windows'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : null;
  return system ? `${browser} on ${system}` : browser;
}
