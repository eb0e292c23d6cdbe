import { Router, type Response } from 'express';
import { z } from 'zod';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { CreatePerkBody, type PerkView } from '../../perks/perk.schemas';
import { archivePerk, createPerk, getPerk, listPerks } from '../../perks/perk.service';
import { formatMoney } from '../../shared/money';
import type { Clock } from '../../shared/time';
import { errorsOf, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import type { FieldOf } from './catalog-forms';
import {
  amountIn,
  placeRefusal,
  choicesOf,
  crumbs,
  ELIGIBILITY_FIELDS,
  eligibilityFieldOf,
  eligibilityIn,
  eligibilityWords,
  formFields,
  idOf,
  list,
  namesFor,
  placeIssues,
  text,
  wholeNumberIn,
  type Names,
  type RetentionForm,
  type RetentionValues,
} from './perk-offer-forms';
import { requireMerchant, signedInMerchant, signedInStore } from './merchant-session';

/**
 * The merchant's perks (`/merchant/retention/perks`): the list (on offer or archived, what each gives and to
 * whom), the new-perk form checked by the API's CreatePerkBody, a perk's page and its archive after a
 * confirmation. The same services as `POST /perks` and `POST /perks/:id/archive`, scoped by the signed-in
 * merchant: another store's perk is not found.
 */
const BASE = '/merchant/retention/perks';
const PAGE_SIZE = 50;
const ListQuery = z.object({ status: z.enum(['active', 'archived']).catch('active'), after: z.string().max(200).optional().catch(undefined) });

const DONE: Record<string, string> = {
  created: 'The perk is created: boxes built from now on give it to those it is for.',
  archived: 'The perk is archived: boxes built from now on no longer give it; boxes built before keep what it gave them.',
};

const BENEFIT_FIELDS = [
  'kind',
  'freeAddon.addonId',
  'freeAddon.quantity',
  'freeAddon.everyNthBox',
  'discount.type',
  'discount.value',
  'milestone.boxNumbers',
  'milestone.bonusType',
  'milestone.points',
  'milestone.addonId',
  'milestone.quantity',
  'milestone.amount',
];
const SINGLE = new Set(['name', 'description', ...ELIGIBILITY_FIELDS.single, ...BENEFIT_FIELDS]);
const MULTI = new Set<string>([...ELIGIBILITY_FIELDS.multi, 'earlyAccess.addonIds']);
const KINDS = ['free_addon', 'addon_discount', 'free_shipping', 'early_access', 'milestone_bonus'] as const;

/** Where an issue of CreatePerkBody (or the service's refusal of it) goes on the form, per the benefit chosen. */
function perkFieldOf(kind: string): FieldOf {
  return (path) => {
    const [head, ...rest] = path;
    if (head === 'name' || head === 'description') return head;
    if (head === 'eligibility') return eligibilityFieldOf(rest);
    if (head !== 'benefit') return '_form';
    const [field, sub] = rest;
    if (kind === 'free_addon') return field === 'quantity' || field === 'everyNthBox' ? `freeAddon.${field}` : 'freeAddon.addonId';
    if (kind === 'addon_discount') return 'discount.value';
    if (kind === 'early_access') return 'earlyAccess.addonIds';
    if (kind === 'milestone_bonus') {
      if (field === 'boxNumbers') return 'milestone.boxNumbers';
      if (field === 'bonus' && sub === 'points') return 'milestone.points';
      if (field === 'bonus' && sub === 'addonId') return 'milestone.addonId';
      if (field === 'bonus' && sub === 'quantity') return 'milestone.quantity';
      if (field === 'bonus' && sub === 'amountOffMinor') return 'milestone.amount';
      if (field === 'addonId') return 'milestone.addonId';
      return 'milestone.bonusType';
    }
    return 'kind';
  };
}

/** The new-perk form → CreatePerkBody. Amounts are typed in the merchant's currency (a box in another currency gets the same number of its minor units). */
export function readPerkForm(body: unknown, currency: string): RetentionForm<CreatePerkBody> {
  const { values, errors } = formFields(body, SINGLE, MULTI);
  const kind = text(values, 'kind');
  const eligibility = eligibilityIn(values, errors);
  let benefit: Record<string, unknown> = { kind };
  if (kind === 'free_addon') {
    if (!text(values, 'freeAddon.addonId')) errors['freeAddon.addonId'] = 'Choose the add-on it gives';
    const quantity = wholeNumberIn(values, 'freeAddon.quantity', errors, 'Type a whole number, such as 1');
    const every = wholeNumberIn(values, 'freeAddon.everyNthBox', errors, 'Type a whole number: 1 for every box, 3 for every third');
    if (every === undefined) errors['freeAddon.everyNthBox'] ??= 'Say how often: 1 for every box, 3 for every third';
    benefit = { kind, addonId: text(values, 'freeAddon.addonId'), ...(quantity !== undefined ? { quantity } : {}), everyNthBox: every ?? 0 };
  } else if (kind === 'addon_discount') {
    const type = text(values, 'discount.type');
    if (type === 'percent') {
      const percentOff = wholeNumberIn(values, 'discount.value', errors, 'Type a whole percent from 1 to 100');
      if (percentOff === undefined) errors['discount.value'] ??= 'Type the percent off';
      benefit = { kind, percentOff: percentOff ?? 0 };
    } else if (type === 'amount') {
      benefit = { kind, amountOffMinor: amountIn(values, 'discount.value', currency, errors) ?? 0 };
    } else errors['discount.type'] = 'Choose a percent or an amount off';
  } else if (kind === 'early_access') {
    benefit = { kind, addonIds: list(values, 'earlyAccess.addonIds') };
  } else if (kind === 'milestone_bonus') {
    const typed = text(values, 'milestone.boxNumbers');
    const numbers = typed.split(/[\s,]+/).filter(Boolean);
    if (numbers.length === 0) errors['milestone.boxNumbers'] = 'Type the paid box numbers that earn it, such as 3, 6, 12';
    else if (!numbers.every((n) => /^\d{1,4}$/.test(n))) errors['milestone.boxNumbers'] = 'Type whole box numbers separated by commas, such as 3, 6, 12';
    const bonusType = text(values, 'milestone.bonusType');
    let bonus: Record<string, unknown> = { type: bonusType };
    if (bonusType === 'points') {
      const points = wholeNumberIn(values, 'milestone.points', errors, 'Type a whole number of points');
      if (points === undefined) errors['milestone.points'] ??= 'Type how many points';
      bonus = { type: bonusType, points: points ?? 0 };
    } else if (bonusType === 'free_addon') {
      if (!text(values, 'milestone.addonId')) errors['milestone.addonId'] = 'Choose the add-on it gives';
      const quantity = wholeNumberIn(values, 'milestone.quantity', errors, 'Type a whole number, such as 1');
      bonus = { type: bonusType, addonId: text(values, 'milestone.addonId'), ...(quantity !== undefined ? { quantity } : {}) };
    } else if (bonusType === 'amount_off') {
      bonus = { type: bonusType, amountOffMinor: amountIn(values, 'milestone.amount', currency, errors) ?? 0 };
    } else errors['milestone.bonusType'] = 'Choose points, a free add-on or an amount off';
    benefit = { kind, boxNumbers: numbers.map(Number), bonus };
  } else if (kind !== 'free_shipping') {
    errors.kind = 'Choose what the perk gives';
  }
  const input = { name: text(values, 'name'), ...(text(values, 'description') ? { description: text(values, 'description') } : {}), eligibility, benefit };
  const parsed = CreatePerkBody.safeParse(input);
  if (!parsed.success) {
    const money = new Set(['milestone.amount', ...(text(values, 'discount.type') === 'amount' ? ['discount.value'] : [])]);
    placeIssues(parsed.error, perkFieldOf(kind), errors, { fields: money, currency });
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

/** What a perk gives, in words. */
export function benefitWords(benefit: Record<string, unknown>, names: Names, currency: string, locale: string): string {
  const b = benefit as { kind: string } & Record<string, unknown>;
  const times = (quantity: unknown) => (typeof quantity === 'number' && quantity > 1 ? ` ×${quantity}` : '');
  switch (b.kind) {
    case 'free_addon': {
      const every = b.everyNthBox as number;
      return `A free ${names.addon(b.addonId as string)}${times(b.quantity)} in ${every === 1 ? 'every box' : `every ${ordinal(every)} box`}`;
    }
    case 'addon_discount':
      return typeof b.percentOff === 'number'
        ? `${b.percentOff}% off the add-ons in each box`
        : `${formatMoney(b.amountOffMinor as number, (b.currency as string | undefined) ?? currency, locale)} off the add-ons in each box (boxes in ${(b.currency as string | undefined) ?? currency})`;
    case 'free_shipping':
      return 'Free shipping on each box';
    case 'early_access':
      return `Early access to ${(b.addonIds as string[]).map((id) => names.addon(id)).join(', ')} before its release`;
    case 'milestone_bonus': {
      const bonus = b.bonus as { type: string; points?: number; addonId?: string; quantity?: number; amountOffMinor?: number; currency?: string };
      const what =
        bonus.type === 'points'
          ? `${bonus.points!.toLocaleString(locale)} points`
          : bonus.type === 'free_addon'
            ? `a free ${names.addon(bonus.addonId!)}${times(bonus.quantity)}`
            : `${formatMoney(bonus.amountOffMinor!, bonus.currency ?? currency, locale)} off (boxes in ${bonus.currency ?? currency})`;
      return `${sentenceCase(what)} in paid box ${(b.boxNumbers as number[]).join(', ')}`;
    }
    default:
      return b.kind;
  }
}

function sentenceCase(words: string): string {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function ordinal(n: number): string {
  const rules = new Intl.PluralRules('en-US', { type: 'ordinal' });
  const suffix = { one: 'st', two: 'nd', few: 'rd', other: 'th' } as Record<string, string>;
  return `${n}${suffix[rules.select(n)] ?? 'th'}`;
}

function addonIdsOf(benefit: Record<string, unknown>): string[] {
  const ids: string[] = [];
  if (typeof benefit.addonId === 'string') ids.push(benefit.addonId);
  if (Array.isArray(benefit.addonIds)) ids.push(...(benefit.addonIds as string[]));
  const bonus = benefit.bonus as { addonId?: unknown } | undefined;
  if (bonus && typeof bonus.addonId === 'string') ids.push(bonus.addonId);
  return ids;
}

async function namesOfPerks(merchantId: string, perks: PerkView[]): Promise<Names> {
  return namesFor(merchantId, {
    planIds: perks.flatMap((perk) => perk.eligibility.planIds ?? []),
    addonIds: perks.flatMap((perk) => addonIdsOf(perk.benefit)),
  });
}

function perkRow(perk: PerkView, names: Names, profile: MerchantProfile, locale: string) {
  return {
    id: perk.id,
    name: perk.name,
    description: perk.description,
    status: perk.status,
    gives: benefitWords(perk.benefit, names, profile.defaultCurrency, locale),
    forWhom: eligibilityWords(perk.eligibility, names, locale),
    created: dateIn(perk.createdAt, profile.timezone, locale),
    updated: dateIn(perk.updatedAt, profile.timezone, locale),
  };
}

export function perkPages(deps: { clock: Clock }): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const query = ListQuery.parse(req.query);
    const read = (startingAfter: string | undefined) => listPerks(profile._id, { limit: PAGE_SIZE, status: query.status, startingAfter });
    const page = await firstPageOnBadCursor(read, query.after);
    const locale = localeOf(req);
    const names = await namesOfPerks(profile._id, page.data);
    res.render('merchant/retention/perks', {
      title: query.status === 'active' ? 'Perks' : 'Archived perks',
      crumbs: crumbs({ label: 'Perks' }),
      status: query.status,
      perks: page.data.map((perk) => perkRow(perk, names, profile, locale)),
      older: page.hasMore && page.nextCursor ? `${BASE}?status=${query.status}&after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  async function renderNew(res: Response, profile: MerchantProfile, values: RetentionValues, errors: FieldErrors, status = 200): Promise<void> {
    res.status(status).render('merchant/retention/perks-new', {
      title: 'New perk',
      crumbs: crumbs({ label: 'Perks', href: BASE }, { label: 'New perk' }),
      values: { kind: 'free_shipping', 'discount.type': 'percent', 'milestone.bonusType': 'points', ...values },
      errors,
      choices: await choicesOf(profile._id, profile.defaultCurrency),
      kinds: KINDS,
    });
  }

  router.get(`${BASE}/new`, async (_req, res) => {
    await renderNew(res, await signedInStore(res), {}, {});
  });

  router.post(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const form = readPerkForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderNew(res, profile, form.values, form.errors, 400);
    try {
      const perk = await createPerk(deps.clock, profile._id, form.body);
      res.redirect(303, `${BASE}/${perk.id}?done=created#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (!refused) throw error;
      await renderNew(res, profile, form.values, placeRefusal(refused, perkFieldOf(form.body.benefit.kind)), 400);
    }
  });

  router.get(`${BASE}/:id`, async (req, res) => {
    const profile = await signedInStore(res);
    const perk = await getPerk(profile._id, idOf(req.params.id));
    const locale = localeOf(req);
    const done = typeof req.query.done === 'string' && Object.hasOwn(DONE, req.query.done) ? DONE[req.query.done]! : null;
    res.render('merchant/retention/perks-show', {
      title: perk.name,
      crumbs: crumbs({ label: 'Perks', href: BASE }, { label: perk.name }),
      perk: perkRow(perk, await namesOfPerks(profile._id, [perk]), profile, locale),
      receipt: done,
    });
  });

  router.get(`${BASE}/:id/archive`, async (req, res) => {
    const profile = await signedInStore(res);
    const perk = await getPerk(profile._id, idOf(req.params.id));
    res.render('merchant/retention/perks-archive', {
      title: `Archive ${perk.name}?`,
      crumbs: crumbs({ label: 'Perks', href: BASE }, { label: perk.name, href: `${BASE}/${perk.id}` }, { label: 'Archive' }),
      perk: perkRow(perk, await namesOfPerks(profile._id, [perk]), profile, localeOf(req)),
    });
  });

  router.post(`${BASE}/:id/archive`, async (req, res) => {
    const perk = await archivePerk(deps.clock, signedInMerchant(res).merchantId, idOf(req.params.id));
    res.redirect(303, `${BASE}/${perk.id}?done=archived#receipt`);
  });

  return router;
}
