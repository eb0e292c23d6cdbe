import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AddonView } from '../../addons/addon.schemas';
import { adjustAddonStock, createAddon, getAddon, listAddons, updateAddon, SkuTakenError } from '../../addons/addon.service';
import { adjustVariantStock, listStockItems } from '../../inventory/stock-item.service';
import type { StockItemView } from '../../inventory/stock-item.schemas';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import type { Plan } from '../../plans/plan.model';
import { findPlan } from '../../plans/plan.queries';
import type { PlanView } from '../../plans/plan.schemas';
import { createPlan, listPlans, setPlanStatus, toPlanView, updatePlan } from '../../plans/plan.service';
import { ConflictError, InvalidStateError, NotFoundError } from '../../shared/errors';
import { formatMoney } from '../../shared/money';
import { migrateSubscribersToCurrentPrice, type SubscriptionDeps } from '../../subscriptions/subscription.service';
import { errorsOf, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateIn } from '../shop/portal-format';
import { localeOf, longDate } from '../shop/shop-view';
import {
  addonEditValues,
  addonFieldOf,
  placeRefusal,
  planEditValues,
  readAddonEditForm,
  readNewAddonForm,
  readNewPlanForm,
  readPlanEditForm,
  readStockForm,
  rowsIn,
  MAX_ROWS,
  type FormValues,
} from './catalog-forms';
import { merchantActor, requireMerchant, signedInMerchant, signedInStore } from './merchant-session';

/**
 * The merchant's catalog (`/merchant/catalog/…`): plans (variants, cadences and their prices, the older prices
 * subscribers keep, price migration, archive), add-ons (price, kind, release date, stock) and the stock of the
 * plans' SKUs. Every page calls the same services as the JSON API (src/plans, src/addons, src/inventory),
 * scoped by the signed-in merchant: another store's ids are not found.
 */
export interface CatalogPagesDeps {
  /** The services' dependencies (clock, Stripe gateway, logger): plans and add-ons are mirrored to Stripe. */
  subscriptions: SubscriptionDeps;
}

const BASE = '/merchant/catalog';
const Id = z.string().min(1).max(100);
const Sku = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const Page = z.object({ after: z.string().max(200).optional() });
const PAGE_SIZE = 50;

/** What each action's receipt says (`?done=<what>`). */
const DONE: Record<string, string> = {
  created: 'The plan is created.',
  updated: 'Your changes are saved.',
  archived: 'The plan is archived: no new subscribers can choose it; its subscribers keep their boxes.',
  unarchived: 'The plan is offered again.',
  'addon-created': 'The add-on is created.',
  'addon-updated': 'Your changes are saved.',
  'addon-archived': 'The add-on is archived: shoppers can no longer add it.',
  'addon-unarchived': 'The add-on is offered again.',
  stock: 'The stock is adjusted.',
};

function receiptOf(req: Request): string | null {
  const done = typeof req.query.done === 'string' ? req.query.done : '';
  if (done === 'migrated') {
    const moved = Number(typeof req.query.moved === 'string' ? req.query.moved : 'NaN');
    if (!Number.isSafeInteger(moved) || moved < 0) return null;
    return moved === 0
      ? 'No subscriber was on an older price of this cadence: nothing moved.'
      : `${moved} ${moved === 1 ? 'subscriber moves' : 'subscribers move'} to the current price from their next open box.`;
  }
  return Object.hasOwn(DONE, done) ? DONE[done]! : null;
}

function idOf(value: unknown): string {
  const id = Id.safeParse(value);
  if (!id.success) throw new NotFoundError('Not found.');
  return id.data;
}

function cadenceLabel(interval: string, count: number): string {
  return count === 1 ? `Every ${interval}` : `Every ${count} ${interval}s`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function discountWords(plan: PlanView, locale: string): string | null {
  const discount = plan.firstBoxDiscount;
  if (!discount) return null;
  return discount.type === 'percent' ? `${discount.percentOff}% off` : `${formatMoney(discount.amountOffMinor, plan.currency, locale)} off`;
}

function stripeWords(stripe: PlanView['stripe']): { state: string; words: string; error: string | null } {
  return {
    state: stripe.state,
    words: stripe.state === 'synced' ? 'Mirrored to Stripe' : 'Waiting to be mirrored to Stripe (retried every minute)',
    error: stripe.lastError,
  };
}

/** A plan's row in the list: its variants, cadences and their current prices. */
function planRow(plan: PlanView, locale: string) {
  return {
    id: plan.id,
    name: plan.name,
    status: plan.status,
    variants: plural(plan.variants.filter((v) => v.status === 'active').length, 'variant', 'variants'),
    cadences: plan.cadences
      .filter((c) => c.status === 'active')
      .map((c) => `${cadenceLabel(c.interval, c.intervalCount)}: ${formatMoney(c.price.amountMinor, c.price.currency, locale)}`),
    stripe: stripeWords(plan.stripe),
  };
}

/** The plan page: variants, cadences with the current price and the older prices subscribers keep. */
function planPage(plan: Plan, profile: MerchantProfile, locale: string) {
  const view = toPlanView(plan);
  return {
    id: view.id,
    name: view.name,
    description: view.description,
    status: view.status,
    currency: view.currency,
    trial: view.trialDays > 0 ? plural(view.trialDays, 'day', 'days') : null,
    discount: discountWords(view, locale),
    stripe: stripeWords(view.stripe),
    variants: view.variants.map((v) => ({ name: v.name, sku: v.sku, status: v.status })),
    cadences: view.cadences.map((cadence) => ({
      key: cadence.key,
      label: cadenceLabel(cadence.interval, cadence.intervalCount),
      status: cadence.status,
      price: formatMoney(cadence.price.amountMinor, cadence.price.currency, locale),
      older: plan.prices
        .filter((price) => price.cadenceKey === cadence.key && price._id !== cadence.price.id)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map((price) => ({ price: formatMoney(price.amountMinor, price.currency, locale), since: dateIn(price.createdAt, profile.timezone, locale) })),
    })),
  };
}

function addonRow(addon: AddonView, locale: string) {
  return {
    id: addon.id,
    name: addon.name,
    sku: addon.sku,
    kind: addon.kind === 'one_time' ? 'Once' : 'Every box',
    status: addon.status,
    price: formatMoney(addon.price.amountMinor, addon.price.currency, locale),
    stock: addon.stock.tracked ? { available: addon.stock.onHand ?? 0, reserved: addon.stock.reserved } : null,
    releasesOn: addon.releasesOn ? longDate(addon.releasesOn, locale) : null,
    stripe: stripeWords(addon.stripe),
  };
}

async function ownPlan(res: Response, planId: string): Promise<Plan> {
  const plan = await findPlan(signedInMerchant(res).merchantId, planId);
  if (!plan) throw new NotFoundError('No plan with this id.');
  return plan;
}

/** Every SKU of the merchant's plans' variants, with its stock (tracked or not). */
async function stockRows(merchantId: string) {
  const plans: PlanView[] = [];
  for (let after: string | undefined, more = true; more;) {
    const page = await listPlans(merchantId, { limit: 100, startingAfter: after });
    plans.push(...page.data);
    after = page.nextCursor ?? undefined;
    more = page.hasMore && after !== undefined;
  }
  const stock = new Map<string, StockItemView>();
  for (let after: string | undefined, more = true; more;) {
    const page = await listStockItems(merchantId, { limit: 100, startingAfter: after });
    for (const item of page.data) stock.set(item.sku, item);
    after = page.nextCursor ?? undefined;
    more = page.hasMore && after !== undefined;
  }
  const rows = [];
  const seen = new Set<string>();
  for (const plan of [...plans].reverse()) {
    for (const variant of plan.variants) {
      if (seen.has(variant.sku)) continue;
      seen.add(variant.sku);
      const item = stock.get(variant.sku);
      rows.push({
        sku: variant.sku,
        name: variant.name,
        plan: plan.name,
        archived: plan.status === 'archived' || variant.status === 'archived',
        stock: item ? { onHand: item.onHand + item.reserved, reserved: item.reserved, available: item.onHand } : null,
      });
    }
  }
  return rows;
}

export function catalogPages(deps: CatalogPagesDeps): Router {
  const router = Router();
  const services = deps.subscriptions;
  router.use(BASE, requireMerchant);

  // Plans

  router.get(BASE, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const after = Page.safeParse(req.query).data?.after;
    const page = await firstPageOnBadCursor((startingAfter) => listPlans(merchantId, { limit: PAGE_SIZE, startingAfter }), after);
    const locale = localeOf(req);
    res.render('merchant/catalog/plans', {
      title: 'Plans',
      tab: 'plans',
      plans: page.data.map((plan) => planRow(plan, locale)),
      older: page.hasMore && page.nextCursor ? `${BASE}?after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  function renderNewPlan(res: Response, profile: MerchantProfile, values: FormValues, errors: FieldErrors, status = 200): void {
    res.status(status).render('merchant/catalog/plan-new', {
      title: 'New plan',
      tab: 'plans',
      values: { currency: profile.defaultCurrency, discountType: 'none', ...values },
      errors,
      rows: rowsIn(values),
      maxRows: MAX_ROWS,
    });
  }

  router.get(`${BASE}/plans/new`, async (_req, res) => {
    renderNewPlan(res, await signedInStore(res), {}, {});
  });

  router.post(`${BASE}/plans`, async (req, res) => {
    const profile = await signedInStore(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    // "More rows" re-renders the form with what was typed and two more empty rows of that kind.
    if (body.more === 'variants' || body.more === 'cadences') {
      const { more, _csrf: _token, ...typed } = body;
      const values = Object.fromEntries(Object.entries(typed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      const rows = rowsIn(values);
      if (rows[more] < MAX_ROWS[more]) values[`${more}.${rows[more]}.${more === 'variants' ? 'name' : 'price'}`] = '';
      return renderNewPlan(res, profile, values, {});
    }
    const form = readNewPlanForm(body, profile.defaultCurrency);
    if (!form.ok) return renderNewPlan(res, profile, form.values, form.errors, 400);
    try {
      const plan = await createPlan(services, profile._id, form.body.body);
      res.redirect(303, `${BASE}/plans/${plan.id}?done=created#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (!refused) throw error;
      renderNewPlan(res, profile, form.values, placeRefusal(refused, form.body.fieldOf), 400);
    }
  });

  router.get(`${BASE}/plans/:id`, async (req, res) => {
    const plan = await ownPlan(res, idOf(req.params.id));
    const page = planPage(plan, await signedInStore(res), localeOf(req));
    const receipt = receiptOf(req);
    res.render('merchant/catalog/plan', { title: page.name, tab: 'plans', plan: page, receipt });
  });

  function renderPlanEdit(res: Response, plan: PlanView, locale: string, values: FormValues, errors: FieldErrors, status = 200): void {
    res.status(status).render('merchant/catalog/plan-edit', {
      title: `Change ${plan.name}`,
      tab: 'plans',
      plan: {
        id: plan.id,
        name: plan.name,
        currency: plan.currency,
        cadences: plan.cadences.map((c) => ({
          key: c.key,
          label: cadenceLabel(c.interval, c.intervalCount),
          price: formatMoney(c.price.amountMinor, c.price.currency, locale),
        })),
      },
      values: { ...planEditValues(plan), ...values },
      errors,
    });
  }

  router.get(`${BASE}/plans/:id/edit`, async (req, res) => {
    const plan = toPlanView(await ownPlan(res, idOf(req.params.id)));
    renderPlanEdit(res, plan, localeOf(req), {}, {});
  });

  router.post(`${BASE}/plans/:id`, async (req, res) => {
    const plan = toPlanView(await ownPlan(res, idOf(req.params.id)));
    const locale = localeOf(req);
    const form = readPlanEditForm(req.body, plan);
    if (!form.ok) return renderPlanEdit(res, plan, locale, form.values, form.errors, 400);
    try {
      await updatePlan(services, signedInMerchant(res).merchantId, plan.id, form.body.body);
      res.redirect(303, `${BASE}/plans/${plan.id}?done=updated#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (refused) return renderPlanEdit(res, plan, locale, form.values, placeRefusal(refused, form.body.fieldOf), 400);
      if (error instanceof ConflictError) return renderPlanEdit(res, plan, locale, form.values, { _form: error.message }, 409);
      throw error;
    }
  });

  router.get(`${BASE}/plans/:id/archive`, async (req, res) => {
    const plan = await ownPlan(res, idOf(req.params.id));
    res.render('merchant/catalog/confirm', {
      title: `Archive ${plan.name}?`,
      tab: 'plans',
      heading: `Archive ${plan.name}?`,
      explain: [
        'New subscribers can no longer choose this plan, on your storefront or through the API.',
        'Its subscribers keep their subscription, their price and their boxes.',
        'You can offer it again at any time.',
      ],
      action: `${BASE}/plans/${plan._id}/archive`,
      fields: {},
      button: 'Archive the plan',
      back: `${BASE}/plans/${plan._id}`,
      danger: true,
    });
  });

  router.post(`${BASE}/plans/:id/archive`, async (req, res) => {
    const planId = idOf(req.params.id);
    await setPlanStatus(services, signedInMerchant(res).merchantId, planId, 'archived');
    res.redirect(303, `${BASE}/plans/${planId}?done=archived#receipt`);
  });

  router.post(`${BASE}/plans/:id/unarchive`, async (req, res) => {
    const planId = idOf(req.params.id);
    await setPlanStatus(services, signedInMerchant(res).merchantId, planId, 'active');
    res.redirect(303, `${BASE}/plans/${planId}?done=unarchived#receipt`);
  });

  /** The cadence of the plan named by a form or link (not one of its cadences: not found). */
  function cadenceOf(plan: Plan, key: unknown) {
    const cadence = plan.cadences.find((c) => c.key === key);
    if (!cadence) throw new NotFoundError('This plan has no such cadence.');
    return cadence;
  }

  router.get(`${BASE}/plans/:id/price-migration`, async (req, res) => {
    const plan = await ownPlan(res, idOf(req.params.id));
    const cadence = cadenceOf(plan, req.query.cadence);
    const locale = localeOf(req);
    const current = plan.prices.find((p) => p._id === cadence.currentPriceId)!;
    const older = plan.prices.filter((p) => p.cadenceKey === cadence.key && p._id !== current._id).map((p) => formatMoney(p.amountMinor, p.currency, locale));
    const label = cadenceLabel(cadence.interval, cadence.intervalCount).toLowerCase();
    const to = formatMoney(current.amountMinor, current.currency, locale);
    res.render('merchant/catalog/confirm', {
      title: `Move subscribers to ${to}?`,
      tab: 'plans',
      heading: `Move ${plan.name} subscribers (${label}) to ${to}?`,
      explain: [
        older.length
          ? `Every subscriber of this cadence still paying an older price (${older.join(', ')}) moves to ${to}, the price new subscribers pay.`
          : `Every subscriber of this cadence moves to ${to}, the price new subscribers pay; none should be on another price, as this cadence never changed its price.`,
        'Each moves from their first box that is not locked yet; boxes already locked keep their price. Their subscription page shows it, recorded as done by you.',
        'How many subscribers move is counted as it runs, and shown when it is done. Running it again moves only those not moved yet.',
      ],
      action: `${BASE}/plans/${plan._id}/price-migration`,
      fields: { cadence: cadence.key },
      button: `Move them to ${to}`,
      back: `${BASE}/plans/${plan._id}`,
      danger: true,
    });
  });

  router.post(`${BASE}/plans/:id/price-migration`, async (req, res) => {
    const plan = await ownPlan(res, idOf(req.params.id));
    const cadence = cadenceOf(plan, (req.body as Record<string, unknown> | undefined)?.cadence);
    const result = await migrateSubscribersToCurrentPrice({ ...services, actor: merchantActor(res) }, plan.merchantId, plan._id, cadence.key);
    res.redirect(303, `${BASE}/plans/${plan._id}?done=migrated&moved=${result.migrated}#receipt`);
  });

  // Add-ons

  router.get(`${BASE}/addons`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const after = Page.safeParse(req.query).data?.after;
    const page = await firstPageOnBadCursor((startingAfter) => listAddons(merchantId, { limit: PAGE_SIZE, startingAfter }), after);
    const locale = localeOf(req);
    res.render('merchant/catalog/addons', {
      title: 'Add-ons',
      tab: 'addons',
      addons: page.data.map((addon) => addonRow(addon, locale)),
      older: page.hasMore && page.nextCursor ? `${BASE}/addons?after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  function renderNewAddon(res: Response, profile: MerchantProfile, values: FormValues, errors: FieldErrors, status = 200): void {
    res.status(status).render('merchant/catalog/addon-new', {
      title: 'New add-on',
      tab: 'addons',
      values: { currency: profile.defaultCurrency, kind: 'one_time', ...values },
      errors,
    });
  }

  router.get(`${BASE}/addons/new`, async (_req, res) => {
    renderNewAddon(res, await signedInStore(res), {}, {});
  });

  router.post(`${BASE}/addons`, async (req, res) => {
    const profile = await signedInStore(res);
    const form = readNewAddonForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderNewAddon(res, profile, form.values, form.errors, 400);
    try {
      const addon = await createAddon(services, profile._id, form.body);
      res.redirect(303, `${BASE}/addons/${addon.id}?done=addon-created#receipt`);
    } catch (error) {
      if (error instanceof SkuTakenError) return renderNewAddon(res, profile, form.values, { sku: 'Another add-on of yours has this SKU' }, 409);
      const refused = errorsOf(error);
      if (!refused) throw error;
      renderNewAddon(res, profile, form.values, placeRefusal(refused, addonFieldOf), 400);
    }
  });

  function renderAddon(req: Request, res: Response, addon: AddonView, forms: { edit?: FormValues; stock?: FormValues }, errors: FieldErrors, status = 200) {
    const locale = localeOf(req);
    const receipt = status === 200 ? receiptOf(req) : null;
    res.status(status).render('merchant/catalog/addon', {
      title: addon.name,
      tab: 'addons',
      addon: { ...addonRow(addon, locale), description: addon.description, currency: addon.price.currency },
      values: { ...addonEditValues(addon), ...forms.edit },
      stockValues: forms.stock ?? {},
      errors,
      receipt,
    });
  }

  router.get(`${BASE}/addons/:id`, async (req, res) => {
    renderAddon(req, res, await getAddon(signedInMerchant(res).merchantId, idOf(req.params.id)), {}, {});
  });

  router.post(`${BASE}/addons/:id`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const addon = await getAddon(merchantId, idOf(req.params.id));
    const form = readAddonEditForm(req.body, addon);
    if (!form.ok) return renderAddon(req, res, addon, { edit: form.values }, form.errors, 400);
    try {
      await updateAddon(services, merchantId, addon.id, form.body);
      res.redirect(303, `${BASE}/addons/${addon.id}?done=addon-updated#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (refused) return renderAddon(req, res, addon, { edit: form.values }, placeRefusal(refused, addonFieldOf), 400);
      if (error instanceof ConflictError) return renderAddon(req, res, addon, { edit: form.values }, { _form: error.message }, 409);
      throw error;
    }
  });

  router.post(`${BASE}/addons/:id/stock`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const addon = await getAddon(merchantId, idOf(req.params.id));
    const form = readStockForm(req.body);
    if (!form.ok) return renderAddon(req, res, addon, { stock: form.values }, prefixed('stock.', form.errors), 400);
    try {
      await adjustAddonStock(services, merchantId, addon.id, form.body.adjustBy);
      res.redirect(303, `${BASE}/addons/${addon.id}?done=stock#receipt`);
    } catch (error) {
      // Never below zero (nor above the most a SKU holds): the service's refusal, beside the quantity.
      if (error instanceof InvalidStateError) return renderAddon(req, res, addon, { stock: form.values }, { 'stock.adjustBy': error.message }, 409);
      throw error;
    }
  });

  router.get(`${BASE}/addons/:id/archive`, async (req, res) => {
    const addon = await getAddon(signedInMerchant(res).merchantId, idOf(req.params.id));
    res.render('merchant/catalog/confirm', {
      title: `Archive ${addon.name}?`,
      tab: 'addons',
      heading: `Archive ${addon.name}?`,
      explain: [
        'Shoppers can no longer add it to their boxes.',
        'Boxes that already have it keep it; its stock stays as it is.',
        'You can offer it again at any time.',
      ],
      action: `${BASE}/addons/${addon.id}/archive`,
      fields: {},
      button: 'Archive the add-on',
      back: `${BASE}/addons/${addon.id}`,
      danger: true,
    });
  });

  for (const [path, status, done] of [
    ['archive', 'archived', 'addon-archived'],
    ['unarchive', 'active', 'addon-unarchived'],
  ] as const) {
    router.post(`${BASE}/addons/:id/${path}`, async (req, res) => {
      const merchantId = signedInMerchant(res).merchantId;
      const addon = await getAddon(merchantId, idOf(req.params.id));
      await updateAddon(services, merchantId, addon.id, { status });
      res.redirect(303, `${BASE}/addons/${addon.id}?done=${done}#receipt`);
    });
  }

  // Stock of the plans' SKUs

  async function renderStock(req: Request, res: Response, failed: { sku: string; values: FormValues; errors: FieldErrors } | null, status = 200) {
    const done = typeof req.query.sku === 'string' ? req.query.sku : null;
    const receipt = status === 200 && done ? receiptOf(req) : null;
    res.status(status).render('merchant/catalog/stock', {
      title: 'Stock',
      tab: 'stock',
      rows: await stockRows(signedInMerchant(res).merchantId),
      failed,
      receipt: receipt ? `${done}: ${receipt}` : null,
    });
  }

  router.get(`${BASE}/stock`, async (req, res) => {
    await renderStock(req, res, null);
  });

  router.post(`${BASE}/stock/:sku`, async (req, res) => {
    const sku = Sku.safeParse(req.params.sku);
    if (!sku.success) throw new NotFoundError('No plan variant has this SKU.');
    const form = readStockForm(req.body);
    if (!form.ok) return renderStock(req, res, { sku: sku.data, values: form.values, errors: form.errors }, 400);
    try {
      await adjustVariantStock(services.clock, signedInMerchant(res).merchantId, sku.data, form.body.adjustBy);
      res.redirect(303, `${BASE}/stock?done=stock&sku=${encodeURIComponent(sku.data)}#receipt`);
    } catch (error) {
      if (error instanceof InvalidStateError) return renderStock(req, res, { sku: sku.data, values: form.values, errors: { adjustBy: error.message } }, 409);
      throw error;
    }
  });

  return router;
}

function prefixed(prefix: string, errors: FieldErrors): FieldErrors {
  return Object.fromEntries(Object.entries(errors).map(([field, message]) => [field === '_form' ? '_form' : `${prefix}${field}`, message]));
}
