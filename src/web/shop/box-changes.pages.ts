import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { findAddons } from '../../addons/addon.queries';
import { listAddons } from '../../addons/addon.service';
import { variantStock } from '../../inventory/stock-item.service';
import { activePlansOf, findPlan } from '../../plans/plan.queries';
import type { Plan } from '../../plans/plan.model';
import { addLocalDays, localDateOf } from '../../shared/calendar';
import { InvalidStateError, PromoCodeRefusedError } from '../../shared/errors';
import { LocalDate as LocalDateField } from '../../shared/schemas';
import {
  addAddon,
  applyPromoCode,
  canDo,
  changeCadence,
  changeChargeDate,
  chargeDateWindow,
  removeAddon,
  setSecondChoice,
  swapBox,
  type SubscriptionDeps,
} from '../../subscriptions/subscription.service';
import { AddAddonBody, CadenceBody, SecondChoiceBody, SwapBody, type SubscriptionView } from '../../subscriptions/subscription.schemas';
import type { FieldErrors } from '../forms';
import { portalPlace, shopperSubscription, type PortalPlace } from './portal-access';
import { FormRefusal, portalChange, subscriptionPath, type ShowRefusal } from './portal-change';
import { dateIn } from './portal-format';
import { brandOf, localeOf, longDate, money } from './shop-view';

/**
 * "Change the box" (`/shop/<handle>/subscriptions/<id>/change`): what comes in the box (a stock-aware picker
 * of the plan's variants, and of other boxes that come at the same rhythm), how often, the next charge's
 * date (with the range it can move in), extras for the next box or every box, and the second choice sent
 * when theirs is out of stock. Each is its own form; each ends on the subscription page's receipt.
 */
export interface BoxChangeDeps {
  subscriptions: SubscriptionDeps;
}

/** `<plan id>:<variant id>`: a swap may change the plan too, so a choice names both. */
const SwapForm = z.strictObject({
  choice: z
    .string({ error: 'Choose what comes in your box' })
    .regex(/^[a-z]+_[0-9a-z]{1,40}:[a-z]+_[0-9a-z]{1,40}$/, { error: 'Choose what comes in your box' })
    .transform((choice) => {
      const [planId, variantId] = choice.split(':') as [string, string];
      return SwapBody.parse({ planId, variantId });
    }),
});
const CadenceForm = z.strictObject({ cadence: z.string({ error: 'Choose how often' }).pipe(CadenceBody.shape.cadence) });
const ChargeDateForm = z.strictObject({
  date: z.string({ error: 'Choose a date' }).refine((date) => LocalDateField.safeParse(date).success, { error: 'Choose a date' }),
});
const AddExtraForm = z.strictObject({
  addonId: z.string({ error: 'Choose an extra' }).min(1, { error: 'Choose an extra' }).pipe(AddAddonBody.shape.addonId),
  quantity: z.coerce.number({ error: 'Choose how many' }).int({ error: 'Choose how many' }).min(1, { error: 'Choose how many' }).max(5, { error: 'At most 5' }),
  kind: z.enum(['one_time', 'recurring'], { error: 'Choose the next box only or every box' }),
});
const PromoCodeForm = z.strictObject({
  code: z
    .string({ error: 'Type the promo code' })
    .trim()
    .min(1, { error: 'Type the promo code' })
    .max(40, { error: 'A promo code is at most 40 characters' })
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'A promo code has only letters, digits, - and _' }),
});
const RemoveExtraForm = z.strictObject({ lineId: z.string().regex(/^sadd_[0-9a-z]{1,40}$/, { error: 'Choose an extra in your box' }) });
const SecondChoiceForm = z.strictObject({
  variantId: z
    .string({ error: 'Choose a second choice, or none' })
    .max(100)
    .transform((id) => SecondChoiceBody.shape.variantId.parse(id === '' ? null : id)),
});

interface SwapOption {
  value: string;
  name: string;
  current: boolean;
  outOfStock: boolean;
}

/** What a swap can choose now: the box's plan's active variants, and those of other active plans offering the same cadence. */
async function swapOptions(merchantId: string, view: SubscriptionView, locale: string) {
  const chosen = view.pendingChange ?? view.box;
  const plans = await activePlansOf(merchantId);
  if (!plans.some((plan) => plan._id === view.box.planId)) {
    const own = await findPlan(merchantId, view.box.planId);
    if (own) plans.unshift(own);
  }
  const groups = [];
  for (const plan of plans) {
    const cadence = plan.cadences.find((c) => c.key === view.box.cadence.key && c.status === 'active');
    if (!cadence) continue;
    const samePlan = plan._id === view.box.planId;
    const price = samePlan ? view.box.price : plan.prices.find((p) => p._id === cadence.currentPriceId);
    const options: SwapOption[] = [];
    for (const variant of plan.variants.filter((v) => v.status === 'active')) {
      options.push({
        value: `${plan._id}:${variant._id}`,
        name: variant.name,
        current: plan._id === chosen.planId && variant._id === chosen.variantId,
        outOfStock: await isOutOfStock(merchantId, variant.sku),
      });
    }
    if (options.length === 0) continue;
    groups.push({
      planId: plan._id,
      planName: plan.name,
      price: price ? `${money(price.amountMinor, price.currency, locale)} a box` : '',
      options,
    });
  }
  // The box's own plan first.
  return groups.sort((a, b) => Number(b.planId === view.box.planId) - Number(a.planId === view.box.planId));
}

async function isOutOfStock(merchantId: string, sku: string): Promise<boolean> {
  const stock = await variantStock(merchantId, sku);
  return stock !== undefined && stock.tracked && stock.onHand < 1;
}

function cadenceLabel(interval: string, count: number): string {
  return count === 1 ? `Every ${interval}` : `Every ${count} ${interval}s`;
}

/** The first box still to be charged (what changes of calendar apply from). */
function nextBoxOf(view: SubscriptionView, now: Date) {
  return view.upcomingCycles.find((cycle) => new Date(cycle.chargeAt) > now);
}

export function boxChangePages(deps: BoxChangeDeps): Router {
  const router = Router();
  const subscriptions = deps.subscriptions;
  const clock = subscriptions.clock;

  const showChange: ShowRefusal = async (req, res, place, view, refusal) => {
    await renderChange(req, res, place, view, refusal.status, refusal.errors, refusal.values);
  };

  async function renderChange(
    req: Request,
    res: Response,
    place: PortalPlace,
    view: SubscriptionView,
    status = 200,
    errors: FieldErrors = {},
    values: Record<string, unknown> = {},
  ): Promise<void> {
    const locale = localeOf(req);
    const tz = place.store.timezone;
    const merchantId = place.store._id;
    const now = clock.now();
    const plan = await findPlan(merchantId, view.box.planId);
    const ended = view.status === 'cancelled';
    const endsOn = view.cancellation && !ended ? dateIn(view.cancellation.effectiveAt, tz, locale) : null;
    const next = nextBoxOf(view, now);

    const swap = canDo(view.status, 'swap') ? { groups: await swapOptions(merchantId, view, locale) } : null;

    const secondChoice =
      canDo(view.status, 'setSecondChoice') && plan
        ? {
            current: view.secondChoiceVariantId,
            currentName: plan.variants.find((v) => v._id === view.secondChoiceVariantId)?.name ?? null,
            options: await Promise.all(
              plan.variants
                .filter((v) => v.status === 'active' && v._id !== view.box.variantId)
                .map(async (v) => ({ id: v._id, name: v.name, outOfStock: await isOutOfStock(merchantId, v.sku) })),
            ),
          }
        : null;

    const cadence =
      canDo(view.status, 'changeCadence') && !view.cancellation && plan
        ? {
            from: next ? dateIn(next.chargeAt, tz, locale) : null,
            options: plan.cadences
              .filter((c) => c.status === 'active' || c.key === view.box.cadence.key)
              .map((c) => {
                const current = c.key === view.box.cadence.key;
                const price = current ? view.box.price : plan.prices.find((p) => p._id === c.currentPriceId);
                return {
                  key: c.key,
                  label: cadenceLabel(c.interval, c.intervalCount),
                  price: price ? `${money(price.amountMinor, price.currency, locale)} a box` : '',
                  current,
                };
              }),
          }
        : null;

    const window = await chargeDateWindow(subscriptions, merchantId, view.id);
    const chargeDate = window
      ? {
          next: longDate(window.nextChargeOn, locale),
          nextOn: window.nextChargeOn,
          earliest: window.earliest,
          latest: window.latest,
          earliestWords: longDate(window.earliest, locale),
          latestWords: longDate(window.latest, locale),
          maxShiftDays: window.maxShiftDays,
          cutoffDays: window.cutoffDays,
          // The limit would allow earlier dates, but their boxes would already be locked.
          lockedBefore: window.earliest > addLocalDays(window.nextChargeOn, -window.maxShiftDays),
        }
      : null;

    const promo = view.promoCode
      ? {
          running: {
            code: view.promoCode.code,
            description: view.promoCode.description,
            from: longDate(view.promoCode.fromCycleKey, locale),
            until: view.promoCode.untilCycleKey ? longDate(view.promoCode.untilCycleKey, locale) : null,
          },
        }
      : canDo(view.status, 'applyPromoCode') && !view.cancellation
        ? { running: null }
        : null;

    const extras = canDo(view.status, 'changeAddons') ? await extrasOf(merchantId, view, localDateOf(now, tz), now, locale, plan) : null;

    res.status(status).render('shop/change', {
      title: 'Change your box',
      brand: brandOf(place.store),
      base: subscriptionPath(place, view.id),
      name: view.box.planName,
      variant: view.box.variantName,
      cadenceNow: cadenceLabel(view.box.cadence.interval, view.box.cadence.intervalCount).toLowerCase(),
      pending: view.pendingChange
        ? { variant: view.pendingChange.variantName, planName: view.pendingChange.planName, from: longDate(view.pendingChange.effectiveCycleKey, locale) }
        : null,
      ended,
      endsOn,
      errors,
      values,
      swap,
      secondChoice,
      cadence,
      chargeDate,
      chargeDateWhyNot: chargeDate ? null : chargeDateWhyNot(view, now),
      extras,
      promo,
      nothing: !swap && !secondChoice && !cadence && !chargeDate && !extras && !promo,
    });
  }

  async function extrasOf(merchantId: string, view: SubscriptionView, today: string, now: Date, locale: string, plan: Plan | undefined) {
    const { data } = await listAddons(merchantId, { limit: 100, status: 'active' });
    const currency = plan?.currency ?? view.box.price.currency;
    const available = data
      .filter((addon) => addon.price.currency === currency)
      .sort((a, b) => a.name.localeCompare(b.name, locale))
      .map((addon) => ({
        id: addon.id,
        name: addon.name,
        description: addon.description,
        price: money(addon.price.amountMinor, addon.price.currency, locale),
        oneBoxOnly: addon.kind === 'one_time',
        outOfStock: addon.stock.tracked && (addon.stock.onHand ?? 0) < 1,
        comingOn: addon.releasesOn && addon.releasesOn > today ? longDate(addon.releasesOn, locale) : null,
      }));
    const upcoming = new Map(view.upcomingCycles.filter((c) => new Date(c.chargeAt) > now).map((c) => [c.cycleKey, c]));
    const lines = view.addons.filter((line) => line.kind === 'recurring' || upcoming.has(line.fromCycleKey));
    const names = new Map(
      (
        await findAddons(
          merchantId,
          lines.map((line) => line.addonId),
        )
      ).map((addon) => [addon._id, addon.name]),
    );
    const inBox = lines.map((line) => {
      const cycle = upcoming.get(line.fromCycleKey);
      const date = longDate(line.fromCycleKey, locale);
      return {
        lineId: line.id,
        name: names.get(line.addonId) ?? 'An extra',
        quantity: line.quantity,
        when: line.kind === 'one_time' ? `in the box of ${date} only` : cycle || line.fromCycleKey > today ? `in every box from ${date}` : 'in every box',
        // A one-time extra stays in its box once the box is locked; the service says so if it is tried.
        locked: line.kind === 'one_time' && cycle !== undefined && new Date(cycle.cutoffAt) <= now,
      };
    });
    return { available, inBox };
  }

  router.get('/shop/:handle/subscriptions/:id/change', async (req, res) => {
    const place = await portalPlace(clock, req, res);
    if (!place) return;
    await renderChange(req, res, place, await shopperSubscription(subscriptions, place, req.params.id));
  });

  portalChange(router, subscriptions, {
    path: 'change/swap',
    schema: SwapForm,
    show: showChange,
    act: async (as, place, view, { choice }) => {
      const groups = await swapOptions(place.store._id, view, 'en');
      const option = groups.flatMap((g) => g.options).find((o) => o.value === `${choice.planId}:${choice.variantId}`);
      if (!option) throw new FormRefusal(400, { choice: 'Choose one of the boxes shown' });
      if (option.current) throw new FormRefusal(400, { choice: 'This is already what comes in your box' });
      // Out of stock now: not offered, and refused even if the form was changed to send it.
      if (option.outOfStock) throw new FormRefusal(409, { choice: `${option.name} is out of stock; choose another` });
      return swapBox(as, place.store._id, view.id, { planId: choice.planId, variantId: choice.variantId });
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/cadence',
    schema: CadenceForm,
    show: showChange,
    act: async (as, place, view, input) => {
      if (input.cadence === view.box.cadence.key) throw new FormRefusal(400, { cadence: 'This is already how often your box comes' });
      return changeCadence(as, place.store._id, view.id, input.cadence);
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/charge-date',
    schema: ChargeDateForm,
    show: showChange,
    act: async (as, place, view, input) => {
      const window = await chargeDateWindow(as, place.store._id, view.id);
      if (window) {
        if (input.date === window.nextChargeOn) throw new FormRefusal(400, { date: 'Your next charge is already on this date' });
        if (input.date < window.earliest || input.date > window.latest) {
          throw new FormRefusal(400, { date: `Choose a date from ${window.earliest} to ${window.latest}` });
        }
      }
      return changeChargeDate(as, place.store._id, view.id, input.date);
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/extras',
    schema: AddExtraForm,
    show: showChange,
    act: async (as, place, view, input) => {
      const [addon] = await findAddons(place.store._id, [input.addonId]);
      if (!addon || addon.status !== 'active') throw new FormRefusal(400, { addonId: 'Choose one of the extras shown' });
      if (addon.stock.tracked && addon.stock.onHand < input.quantity) {
        throw new FormRefusal(409, {
          addonId: addon.stock.onHand < 1 ? `${addon.name} is out of stock` : `Only ${addon.stock.onHand} ${addon.name} left: choose fewer`,
        });
      }
      if (input.kind === 'recurring' && addon.kind === 'one_time') throw new FormRefusal(400, { kind: `${addon.name} comes in one box only` });
      return addAddon(as, place.store._id, view.id, input);
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/promo-code',
    schema: PromoCodeForm,
    show: showChange,
    // Refusals (unknown, expired, used, one at a time, worth less than the first box's discount) say why beside the field.
    act: async (as, place, view, input) => {
      try {
        return await applyPromoCode(as, place.store._id, view.id, input.code);
      } catch (error) {
        if (error instanceof PromoCodeRefusedError || error instanceof InvalidStateError) throw new FormRefusal(error.status, { code: error.message });
        throw error;
      }
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/extras/remove',
    schema: RemoveExtraForm,
    show: showChange,
    act: async (as, place, view, input) => {
      if (!view.addons.some((line) => line.id === input.lineId)) throw new FormRefusal(400, { _form: 'That extra is not in your box any more.' });
      return removeAddon(as, place.store._id, view.id, input.lineId);
    },
  });

  portalChange(router, subscriptions, {
    path: 'change/second-choice',
    schema: SecondChoiceForm,
    show: showChange,
    act: async (as, place, view, input) => {
      if (input.variantId === view.secondChoiceVariantId) {
        throw new FormRefusal(400, { variantId: input.variantId ? 'This is already your second choice' : 'You have no second choice' });
      }
      if (input.variantId !== null) {
        const plan = await findPlan(place.store._id, view.box.planId);
        const offered = plan?.variants.some((v) => v._id === input.variantId && v.status === 'active' && v._id !== view.box.variantId);
        if (!offered) throw new FormRefusal(400, { variantId: 'Choose one of the variants shown' });
      }
      return setSecondChoice(as, place.store._id, view.id, input.variantId);
    },
  });

  return router;
}

/** Why the next charge cannot move now, in the shopper's words. */
function chargeDateWhyNot(view: SubscriptionView, now: Date): string {
  if (view.status === 'cancelled') return 'This subscription has ended.';
  if (view.cancellation) return 'This subscription is set to end; reactivate it to move its charge date.';
  if (view.status === 'paused') return 'Your subscription is paused: resume it to move the next charge.';
  if (!canDo(view.status, 'moveChargeDate')) return 'The charge date cannot move while a payment is waiting.';
  const next = nextBoxOf(view, now);
  if (next?.state === 'skipped') return 'Your next box is skipped; bring it back first, or move the charge after it later.';
  if (next && new Date(next.cutoffAt) <= now) return 'Your next box is being prepared; you can move the charge date once it is charged.';
  return 'The next charge cannot move now.';
}
