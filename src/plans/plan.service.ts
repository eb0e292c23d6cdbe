import { syncCatalogItemToStripe, type CatalogItemKind, type CatalogSyncDeps } from '../catalog/catalog-sync.service';
import type { CatalogPrice } from '../catalog/catalog-price.subdocument';
import { toPriceView, toStripeSyncView } from '../catalog/catalog-views';
import { merchantProfile } from '../merchants/merchant.queries';
import { isDuplicateKeyError } from '../shared/db';
import { ConflictError, invalidInput, InvalidStateError, NotFoundError } from '../shared/errors';
import { newId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import { iso } from '../shared/schemas';
import type { Clock } from '../shared/time';
import { PlanModel, type Plan, type PlanCadence, type PlanVariant } from './plan.model';
import type { CreatePlanBody, PlanView, UpdatePlanBody } from './plan.schemas';

export type PlanDeps = CatalogSyncDeps;

export const planCatalogKind: CatalogItemKind<Plan> = {
  kind: 'plan',
  model: PlanModel,
  recurringOf: (plan, price) => {
    const cadence = plan.cadences.find((c) => c.key === price.cadenceKey);
    return cadence ? { interval: cadence.interval, intervalCount: cadence.intervalCount } : undefined;
  },
};

export class SlugTakenError extends ConflictError {
  override readonly code = 'slug_taken';
  override readonly title = 'Another plan of yours has this slug';
}

export function cadenceKey(cadence: { interval: string; intervalCount: number }): string {
  return `${cadence.interval}-${cadence.intervalCount}`;
}

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 56)
    .replace(/-+$/, '');
  return slug || 'plan';
}

function newPrice(clock: Clock, key: string, amountMinor: number, currency: string): CatalogPrice {
  return { _id: newId('prc'), cadenceKey: key, amountMinor, currency, active: true, createdAt: clock.now() };
}

/** A new plan document from a validated request (also used by the demo seed). */
export function buildPlan(clock: Clock, merchantId: string, currency: string, input: CreatePlanBody): Plan {
  const prices: CatalogPrice[] = [];
  const cadences: PlanCadence[] = input.cadences.map((cadence) => {
    const key = cadenceKey(cadence);
    const price = newPrice(clock, key, cadence.priceMinor, currency);
    prices.push(price);
    return { key, interval: cadence.interval, intervalCount: cadence.intervalCount, currentPriceId: price._id, status: 'active' };
  });
  const now = clock.now();
  return {
    _id: newId('plan'),
    merchantId,
    name: input.name,
    description: input.description ?? '',
    slug: input.slug ?? slugify(input.name),
    status: 'active',
    currency,
    variants: input.variants.map((variant) => ({
      _id: newId('var'),
      name: variant.name,
      sku: variant.sku,
      options: variant.options ?? {},
      substituteSkus: variant.substituteSkus ?? [],
      status: 'active',
    })),
    cadences,
    prices,
    trialDays: input.trialDays ?? 0,
    ...(input.firstBoxDiscount ? { firstBoxDiscount: input.firstBoxDiscount } : {}),
    stripe: { state: 'pending' },
    revision: 0,
    createdAt: now,
    updatedAt: now,
  };
}

export function toPlanView(plan: Plan): PlanView {
  const priceById = new Map(plan.prices.map((price) => [price._id, price]));
  return {
    id: plan._id,
    object: 'plan',
    name: plan.name,
    description: plan.description,
    slug: plan.slug,
    status: plan.status,
    currency: plan.currency,
    variants: plan.variants.map((variant) => ({
      id: variant._id,
      name: variant.name,
      sku: variant.sku,
      options: { ...variant.options },
      substituteSkus: [...(variant.substituteSkus ?? [])],
      status: variant.status,
    })),
    cadences: plan.cadences.map((cadence) => {
      const price = priceById.get(cadence.currentPriceId)!;
      return {
        key: cadence.key,
        interval: cadence.interval,
        intervalCount: cadence.intervalCount,
        status: cadence.status,
        price: toPriceView(price),
      };
    }),
    trialDays: plan.trialDays,
    firstBoxDiscount: plan.firstBoxDiscount ?? null,
    stripe: toStripeSyncView(plan.stripe),
    createdAt: iso(plan.createdAt),
    updatedAt: iso(plan.updatedAt),
  };
}

async function findPlan(merchantId: string, planId: string): Promise<Plan> {
  const plan = await PlanModel.findOne({ _id: planId, merchantId }).lean();
  if (!plan) throw new NotFoundError('No plan with this id.');
  return plan;
}

async function syncedView(deps: PlanDeps, merchantId: string, planId: string): Promise<PlanView> {
  await syncCatalogItemToStripe(deps, planCatalogKind, planId);
  return toPlanView(await findPlan(merchantId, planId));
}

/** Creates a plan and mirrors it to Stripe (a Product, and a recurring Price per cadence). */
export async function createPlan(deps: PlanDeps, merchantId: string, input: CreatePlanBody): Promise<PlanView> {
  const merchant = await merchantProfile(merchantId);
  if (!merchant) throw new NotFoundError('This merchant does not exist.');
  const plan = buildPlan(deps.clock, merchantId, input.currency ?? merchant.defaultCurrency, input);
  // A slug made from the name gets a suffix when taken; a slug the merchant chose is refused instead.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await PlanModel.create(plan);
      break;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      if (input.slug || attempt >= 20) throw new SlugTakenError(`The slug "${plan.slug}" is taken; choose another.`);
      plan.slug = `${slugify(input.name)}-${attempt + 1}`;
    }
  }
  return syncedView(deps, merchantId, plan._id);
}

/**
 * Makes sure the merchant has a plan with this slug, made from `input` if not (`$setOnInsert` on the slug):
 * seeding is idempotent and safe from several processes at once. The plan starts `pending` with Stripe;
 * the catalog sync job mirrors it.
 */
export async function ensureSeededPlan(clock: Clock, merchantId: string, currency: string, input: CreatePlanBody & { slug: string }): Promise<Plan> {
  const { merchantId: _merchantId, slug: _slug, ...fields } = buildPlan(clock, merchantId, currency, input);
  return PlanModel.findOneAndUpdate({ merchantId, slug: input.slug }, { $setOnInsert: fields }, { upsert: true, returnDocument: 'after', lean: true }).orFail();
}

export async function getPlan(merchantId: string, planId: string): Promise<PlanView> {
  return toPlanView(await findPlan(merchantId, planId));
}

export async function listPlans(merchantId: string, query: { limit: number; startingAfter?: string | undefined; status?: Plan['status'] | undefined }) {
  const filter = { merchantId, ...(query.status ? { status: query.status } : {}), ...afterCursor(decodeCursor(query.startingAfter)) };
  const plans = await PlanModel.find(filter)
    .sort({ createdAt: -1, _id: -1 })
    .limit(query.limit + 1)
    .lean();
  return listPage(plans, query.limit, toPlanView);
}

/** A substitute must be another variant of the same plan. */
function substitutionProblem(variants: Array<{ sku: string; substituteSkus?: string[] | undefined }>): string | undefined {
  const skus = new Set(variants.map((v) => v.sku));
  for (const variant of variants) {
    for (const sku of variant.substituteSkus ?? []) {
      if (sku === variant.sku) return `variant ${variant.sku} cannot substitute itself`;
      if (!skus.has(sku)) return `substitute ${sku} of variant ${variant.sku} is not a variant of this plan`;
    }
  }
  return undefined;
}

function applyVariantChanges(plan: Plan, changes: NonNullable<UpdatePlanBody['variants']>): PlanVariant[] {
  const variants = plan.variants.map((variant) => ({ ...variant, options: { ...variant.options }, substituteSkus: [...(variant.substituteSkus ?? [])] }));
  changes.forEach((change, index) => {
    if (change.id) {
      const variant = variants.find((v) => v._id === change.id);
      if (!variant) throw invalidInput(`variants.${index}.id`, 'is not a variant of this plan');
      if (change.name !== undefined) variant.name = change.name;
      if (change.sku !== undefined) variant.sku = change.sku;
      if (change.options !== undefined) variant.options = change.options;
      if (change.substituteSkus !== undefined) variant.substituteSkus = change.substituteSkus;
      if (change.status !== undefined) variant.status = change.status;
    } else {
      if (!change.name || !change.sku) {
        throw invalidInput(`variants.${index}`, 'a new variant needs a name and a sku');
      }
      variants.push({
        _id: newId('var'),
        name: change.name,
        sku: change.sku,
        options: change.options ?? {},
        substituteSkus: change.substituteSkus ?? [],
        status: change.status ?? 'active',
      });
    }
  });
  if (new Set(variants.map((v) => v.sku)).size !== variants.length) {
    throw invalidInput('variants', 'each variant needs its own sku');
  }
  const substituteProblem = substitutionProblem(variants);
  if (substituteProblem) throw invalidInput('variants', substituteProblem);
  if (!variants.some((v) => v.status === 'active')) {
    throw invalidInput('variants', 'a plan needs at least one active variant');
  }
  return variants;
}

function applyCadenceChanges(clock: Clock, plan: Plan, changes: NonNullable<UpdatePlanBody['cadences']>) {
  const cadences = plan.cadences.map((cadence) => ({ ...cadence }));
  const prices = plan.prices.map((price) => ({ ...price }));
  changes.forEach((change, index) => {
    const key = cadenceKey(change);
    let cadence = cadences.find((c) => c.key === key);
    if (!cadence) {
      if (change.priceMinor === undefined) {
        throw invalidInput(`cadences.${index}.priceMinor`, 'a new cadence needs a price');
      }
      const price = newPrice(clock, key, change.priceMinor, plan.currency);
      prices.push(price);
      cadence = { key, interval: change.interval, intervalCount: change.intervalCount, currentPriceId: price._id, status: 'active' };
      cadences.push(cadence);
    } else if (change.priceMinor !== undefined) {
      const current = prices.find((price) => price._id === cadence!.currentPriceId)!;
      if (current.amountMinor !== change.priceMinor) {
        // A new price for new subscribers; the old one stays (inactive) for those who have it.
        current.active = false;
        const price = newPrice(clock, key, change.priceMinor, plan.currency);
        prices.push(price);
        cadence.currentPriceId = price._id;
      }
    }
    if (change.status !== undefined) cadence.status = change.status;
  });
  if (!cadences.some((c) => c.status === 'active')) {
    throw invalidInput('cadences', 'a plan needs at least one active cadence');
  }
  return { cadences, prices };
}

/**
 * Changes a plan. Conditional on the revision read, so two concurrent edits never overwrite each other:
 * the second answers 409 and can be retried. Price changes create new prices; subscribers keep theirs.
 */
export async function updatePlan(deps: PlanDeps, merchantId: string, planId: string, input: UpdatePlanBody): Promise<PlanView> {
  const plan = await findPlan(merchantId, planId);
  const set: Partial<Plan> = {};
  if (input.name !== undefined) set.name = input.name;
  if (input.description !== undefined) set.description = input.description;
  if (input.trialDays !== undefined) set.trialDays = input.trialDays;
  if (input.variants) set.variants = applyVariantChanges(plan, input.variants);
  if (input.cadences) Object.assign(set, applyCadenceChanges(deps.clock, plan, input.cadences));
  const unset = input.firstBoxDiscount === null ? { firstBoxDiscount: 1 } : undefined;
  if (input.firstBoxDiscount) set.firstBoxDiscount = input.firstBoxDiscount;
  if (Object.keys(set).length === 0 && !unset) return toPlanView(plan);

  const result = await PlanModel.updateOne(
    { _id: planId, merchantId, revision: plan.revision },
    { $set: { ...set, 'stripe.state': 'pending', updatedAt: deps.clock.now() }, $inc: { revision: 1 }, ...(unset ? { $unset: unset } : {}) },
  );
  if (result.matchedCount === 0) throw new ConflictError('The plan was changed by another request meanwhile. Read it again and retry.');
  return syncedView(deps, merchantId, planId);
}

/** Archived plans take no new subscribers; existing subscribers keep theirs. */
export async function setPlanStatus(deps: PlanDeps, merchantId: string, planId: string, status: Plan['status']): Promise<PlanView> {
  const plan = await findPlan(merchantId, planId);
  if (plan.status === status) return toPlanView(plan);
  const result = await PlanModel.updateOne(
    { _id: planId, merchantId, status: plan.status },
    { $set: { status, 'stripe.state': 'pending', updatedAt: deps.clock.now() }, $inc: { revision: 1 } },
  );
  if (result.matchedCount === 0) throw new InvalidStateError('The plan changed meanwhile; read it again.');
  return syncedView(deps, merchantId, planId);
}
