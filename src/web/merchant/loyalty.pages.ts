import { Router, type Request, type Response } from 'express';
import { customersInTier } from '../../loyalty/loyalty.queries';
import { LoyaltyProgramBody, type LoyaltyProgramView } from '../../loyalty/loyalty.schemas';
import { getLoyaltyProgram, putLoyaltyProgram } from '../../loyalty/loyalty.service';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { activePerks } from '../../perks/perk.service';
import { NotFoundError } from '../../shared/errors';
import { formatMoney, minorDigits } from '../../shared/money';
import type { Clock } from '../../shared/time';
import { errorsOf, type FieldErrors } from '../forms';
import { dateIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import type { FieldOf } from './catalog-forms';
import {
  amountIn,
  placeRefusal,
  crumbs,
  decimal,
  formFields,
  placeIssues,
  text,
  wholeNumberIn,
  type RetentionForm,
  type RetentionValues,
} from './perk-offer-forms';
import { requireMerchant, signedInStore } from './merchant-session';

/**
 * The merchant's loyalty programme and tiers (`/merchant/retention/loyalty`): the programme as it is (earning,
 * redemption, expiry, the tiers with their thresholds, earn rates, the perks for each and how many shoppers hold
 * each), and its form, checked by the API's LoyaltyProgramBody and saved by the same service as
 * `PUT /loyalty-program`. The programme is one per merchant: nothing here takes an id.
 */
const BASE = '/merchant/retention/loyalty';
const MAX_TIERS = 10;
/** Tier members are counted by walking the tier's index up to this many; more reads "more than 1,000". */
const COUNT_UP_TO = 1000;

const SINGLE_FIELDS = new Set([
  'enabled',
  'pointsPerUnit',
  'redemption.points',
  'redemption.credit',
  'autoApply',
  'expires',
  'expiry.afterMonths',
  'expiry.noticeDays',
  'tierBasis',
]);
const TIER_FIELD = /^tiers\.(\d)\.(key|name|threshold|multiplier)$/;
const TIER_FIELDS = new Set(Array.from({ length: MAX_TIERS }, (_, i) => ['key', 'name', 'threshold', 'multiplier'].map((f) => `tiers.${i}.${f}`)).flat());

/** How many tier rows the form shows: those typed or saved and two empty ones to add, at least three, at most ten. */
function tierRowsIn(values: RetentionValues): number {
  let rows = 0;
  for (const [name, value] of Object.entries(values)) {
    const match = TIER_FIELD.exec(name);
    if (match && typeof value === 'string' && value.trim() !== '') rows = Math.max(rows, Number(match[1]) + 1);
  }
  return Math.min(Math.max(rows + 2, 3), MAX_TIERS);
}

/** A tier key made from its name when none is typed: "Gold members" → "gold-members". */
function keyFrom(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** The programme form → LoyaltyProgramBody. Credit and spend thresholds are typed as amounts of the merchant's currency. */
export function readLoyaltyForm(body: unknown, currency: string): RetentionForm<LoyaltyProgramBody> & { fieldOf: FieldOf } {
  const { values, errors } = formFields(body, new Set([...SINGLE_FIELDS, ...TIER_FIELDS]));
  const tierBasis = text(values, 'tierBasis');
  if (tierBasis !== 'paid_boxes' && tierBasis !== 'spend') errors.tierBasis = 'Choose paid boxes or spend';
  const pointsPerUnit = wholeNumberIn(values, 'pointsPerUnit', errors, 'Type a whole number of points, such as 1');
  if (pointsPerUnit === undefined) errors.pointsPerUnit ??= 'Type how many points each whole unit paid earns (0 for none)';
  const redemptionPoints = wholeNumberIn(values, 'redemption.points', errors, 'Type a whole number of points, such as 100');
  if (redemptionPoints === undefined) errors['redemption.points'] ??= 'Type how many points make one block of credit';
  const credit = amountIn(values, 'redemption.credit', currency, errors);
  const expires = text(values, 'expires') === 'on';
  let expiry: { afterMonths: number; noticeDays: number } | null = null;
  if (expires) {
    const afterMonths = wholeNumberIn(values, 'expiry.afterMonths', errors, 'Type a whole number of months, such as 12');
    const noticeDays = wholeNumberIn(values, 'expiry.noticeDays', errors, 'Type a whole number of days, such as 14');
    if (afterMonths === undefined) errors['expiry.afterMonths'] ??= 'Type after how many months points expire';
    if (noticeDays === undefined) errors['expiry.noticeDays'] ??= 'Type how many days before shoppers are told';
    expiry = { afterMonths: afterMonths ?? 0, noticeDays: noticeDays ?? 0 };
  }
  const rows: number[] = [];
  const tiers: Array<Record<string, unknown>> = [];
  for (let row = 0; row < MAX_TIERS; row += 1) {
    const field = (name: string) => `tiers.${row}.${name}`;
    const [key, name, threshold, multiplier] = ['key', 'name', 'threshold', 'multiplier'].map((f) => text(values, field(f))) as [
      string,
      string,
      string,
      string,
    ];
    if (!key && !name && !threshold && !multiplier) continue;
    if (!name) errors[field('name')] = 'Type the tier’s name';
    let thresholdValue: number | undefined;
    if (tierBasis === 'spend') thresholdValue = amountIn(values, field('threshold'), currency, errors);
    else {
      thresholdValue = wholeNumberIn(values, field('threshold'), errors, 'Type a whole number of paid boxes, such as 6');
      if (thresholdValue === undefined) errors[field('threshold')] ??= 'Type how many paid boxes reach this tier';
    }
    const percent = multiplier === '' ? 100 : wholeNumberIn(values, field('multiplier'), errors, 'Type a whole percent, such as 150 for 1.5× points');
    rows.push(row);
    tiers.push({ key: key || keyFrom(name), name, threshold: thresholdValue ?? 0, earnMultiplierPercent: percent ?? 100 });
  }
  const input = {
    enabled: text(values, 'enabled') === 'on',
    pointsPerUnit: pointsPerUnit ?? 0,
    redemption: { points: redemptionPoints ?? 0, creditMinor: credit ?? 0 },
    autoApply: text(values, 'autoApply') === 'on',
    expiry,
    tierBasis,
    tiers,
  };
  const fieldOf: FieldOf = (path) => {
    const [head, index, field] = path;
    if (head === 'redemption') return index === 'creditMinor' ? 'redemption.credit' : 'redemption.points';
    if (head === 'expiry') return index === 'noticeDays' ? 'expiry.noticeDays' : 'expiry.afterMonths';
    if (head === 'tiers') {
      if (typeof index !== 'number') return 'tiers';
      const row = rows[index] ?? 0;
      return `tiers.${row}.${field === 'earnMultiplierPercent' ? 'multiplier' : typeof field === 'string' && ['key', 'name', 'threshold'].includes(field) ? field : 'name'}`;
    }
    if (head === 'enabled' || head === 'pointsPerUnit' || head === 'autoApply' || head === 'tierBasis') return head;
    return '_form';
  };
  const parsed = LoyaltyProgramBody.safeParse(input);
  if (!parsed.success) {
    const money = new Set(['redemption.credit', ...(tierBasis === 'spend' ? rows.map((row) => `tiers.${row}.threshold`) : [])]);
    placeIssues(parsed.error, fieldOf, errors, { fields: money, currency });
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values, fieldOf };
  return { ok: true, body: parsed.data, values, fieldOf };
}

/** The form's fields as they show before a change: the programme as it is, or a starting point when there is none. */
function formValuesOf(program: LoyaltyProgramView | null, currency: string): RetentionValues {
  if (!program) {
    return {
      enabled: 'on',
      pointsPerUnit: '1',
      'redemption.points': '100',
      'redemption.credit': decimal(500, currency),
      tierBasis: 'paid_boxes',
      'expiry.afterMonths': '12',
      'expiry.noticeDays': '14',
    };
  }
  return {
    ...(program.enabled ? { enabled: 'on' } : {}),
    pointsPerUnit: String(program.pointsPerUnit),
    'redemption.points': String(program.redemption.points),
    'redemption.credit': decimal(program.redemption.creditMinor, currency),
    ...(program.autoApply ? { autoApply: 'on' } : {}),
    ...(program.expiry ? { expires: 'on' } : {}),
    'expiry.afterMonths': String(program.expiry?.afterMonths ?? 12),
    'expiry.noticeDays': String(program.expiry?.noticeDays ?? 14),
    tierBasis: program.tierBasis,
    ...Object.fromEntries(
      program.tiers.flatMap((tier, i) => [
        [`tiers.${i}.key`, tier.key],
        [`tiers.${i}.name`, tier.name],
        [`tiers.${i}.threshold`, program.tierBasis === 'spend' ? decimal(tier.threshold, currency) : String(tier.threshold)],
        [`tiers.${i}.multiplier`, String(tier.earnMultiplierPercent)],
      ]),
    ),
  };
}

async function programOf(merchantId: string): Promise<LoyaltyProgramView | null> {
  return getLoyaltyProgram(merchantId).catch((error: unknown) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  });
}

function multiplierWords(percent: number): string {
  return percent === 100 ? 'The base rate' : `${(percent / 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}× points`;
}

/** The programme page's view: what a shopper earns and what it is worth, and each tier with its members. */
async function programPage(merchantId: string, program: LoyaltyProgramView, profile: MerchantProfile, locale: string) {
  const money = (amountMinor: number) => formatMoney(amountMinor, program.currency, locale);
  const perks = await activePerks(merchantId);
  const tiers = await Promise.all(
    program.tiers.map(async (tier) => {
      const members = (await customersInTier(merchantId, tier.key, undefined, COUNT_UP_TO + 1)).length;
      return {
        key: tier.key,
        name: tier.name,
        threshold:
          program.tierBasis === 'spend'
            ? `${money(tier.threshold)} spent in 12 months`
            : `${tier.threshold} paid ${tier.threshold === 1 ? 'box' : 'boxes'} in 12 months`,
        earns: multiplierWords(tier.earnMultiplierPercent),
        perks: perks.filter((perk) => perk.eligibility.tierKeys?.includes(tier.key)).map((perk) => ({ id: perk._id, name: perk.name })),
        members: members > COUNT_UP_TO ? `More than ${COUNT_UP_TO.toLocaleString(locale)}` : members.toLocaleString(locale),
      };
    }),
  );
  return {
    enabled: program.enabled,
    currency: program.currency,
    earning: `${program.pointsPerUnit.toLocaleString(locale)} ${program.pointsPerUnit === 1 ? 'point' : 'points'} for each ${money(10 ** minorDigits(program.currency))} paid for a box, times the tier’s rate`,
    redemption: `${program.redemption.points.toLocaleString(locale)} points give ${money(program.redemption.creditMinor)} of credit on the coming boxes`,
    autoApply: program.autoApply
      ? 'Points are turned into credit at each box’s cut-off, without the shopper asking'
      : 'Shoppers redeem their points when they choose',
    expiry: program.expiry
      ? `Points expire ${program.expiry.afterMonths} ${program.expiry.afterMonths === 1 ? 'month' : 'months'} after they are earned; shoppers are told ${program.expiry.noticeDays} ${program.expiry.noticeDays === 1 ? 'day' : 'days'} before`
      : 'Points never expire',
    tierBasis: program.tierBasis === 'spend' ? `Spend in ${program.currency} over the last 12 months` : 'Paid boxes over the last 12 months',
    tiers,
    updated: dateIn(program.updatedAt, profile.timezone, locale),
  };
}

export function loyaltyPages(deps: { clock: Clock }): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req: Request, res) => {
    const profile = await signedInStore(res);
    const program = await programOf(profile._id);
    res.render('merchant/retention/loyalty', {
      title: 'Loyalty programme',
      crumbs: crumbs({ label: 'Loyalty programme' }),
      program: program ? await programPage(profile._id, program, profile, localeOf(req)) : null,
      receipt: req.query.done === 'saved' ? 'The loyalty programme is saved: what shoppers earn from now on follows it.' : null,
    });
  });

  function renderForm(res: Response, exists: boolean, currency: string, values: RetentionValues, errors: FieldErrors, status = 200): void {
    res.status(status).render('merchant/retention/loyalty-edit', {
      title: exists ? 'Change the loyalty programme' : 'Set up the loyalty programme',
      crumbs: crumbs({ label: 'Loyalty programme', href: BASE }, { label: exists ? 'Change' : 'Set up' }),
      exists,
      currency,
      values,
      errors,
      rows: tierRowsIn(values),
    });
  }

  router.get(`${BASE}/edit`, async (_req, res) => {
    const profile = await signedInStore(res);
    const program = await programOf(profile._id);
    renderForm(res, program !== null, profile.defaultCurrency, formValuesOf(program, profile.defaultCurrency), {});
  });

  router.post(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const exists = (await programOf(profile._id)) !== null;
    const form = readLoyaltyForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderForm(res, exists, profile.defaultCurrency, form.values, form.errors, 400);
    try {
      await putLoyaltyProgram(deps.clock, profile._id, form.body);
      res.redirect(303, `${BASE}?done=saved#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (!refused) throw error;
      renderForm(res, exists, profile.defaultCurrency, form.values, placeRefusal(refused, form.fieldOf), 400);
    }
  });

  return router;
}
