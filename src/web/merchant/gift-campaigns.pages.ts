import { Router, type Request, type Response } from 'express';
import { listAddons } from '../../addons/addon.service';
import { findAddons } from '../../addons/addon.queries';
import { customersByIds } from '../../customers/customer.queries';
import { CreateGiftCampaignBody, type GiftCampaignView, type GiftDryRunView } from '../../gifts/gift-campaign.schemas';
import {
  activateGiftCampaign,
  createGiftCampaign,
  dryRunGiftCampaign,
  endGiftCampaign,
  getGiftCampaign,
  listGiftAwards,
  listGiftCampaigns,
} from '../../gifts/gift-campaign.service';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { listPlans } from '../../plans/plan.service';
import { InvalidStateError } from '../../shared/errors';
import { formatMoney } from '../../shared/money';
import type { Clock } from '../../shared/time';
import { errorsOf, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf, longDate } from '../shop/shop-view';
import { requireMerchant, signedInMerchant, signedInStore } from './merchant-session';
import {
  afterOf,
  idOf,
  placeIssues,
  placeRefusal,
  plural,
  receiptOf,
  stringFields,
  typedAmount,
  typedWhole,
  type FormValues,
  type RetentionForm,
} from './retention-forms';

/**
 * Surprise-gift campaigns (`/merchant/retention/gifts`): the list, the new-campaign form (the API's
 * CreateGiftCampaignBody), a campaign's page with its dry run — who would get a gift at the coming cut-offs
 * and what stock it would use — before it is activated, activate and end (each confirmed), and the awards
 * after. Same services as the API (src/gifts/gift-campaign.service.ts), scoped by the signed-in merchant.
 */
const BASE = '/merchant/retention/gifts';
const PAGE_SIZE = 25;
/** The dry run's picks shown on the page (the count is always the whole of it). */
const PICKS_SHOWN = 50;

const DONE: Record<string, string> = {
  created: 'The campaign is created as a draft: nothing is given until you activate it. Check the dry run below.',
  activated: 'The campaign is live: boxes picked before their cut-off get the gift.',
  ended: 'The campaign has ended: no more boxes are picked. Gifts already granted stay with their boxes.',
};

const FIELDS = [
  'name',
  'giftAddonId',
  'unitCost',
  'stockBudget',
  'costBudget',
  'startsOn',
  'endsOn',
  'planId',
  'minPaidBoxes',
  'topSpendPercent',
  'selection',
  'sharePercent',
  'minGapCycles',
  'leadHours',
] as const;

/** Which form field each body path came from. */
const FIELD_OF: Record<string, string> = {
  name: 'name',
  giftAddonIds: 'giftAddonId',
  unitCostMinor: 'unitCost',
  currency: '_form',
  stockBudget: 'stockBudget',
  costBudgetMinor: 'costBudget',
  startsOn: 'startsOn',
  endsOn: 'endsOn',
  'eligibility.planIds': 'planId',
  'eligibility.minPaidBoxes': 'minPaidBoxes',
  'eligibility.topSpendPercent': 'topSpendPercent',
  eligibility: 'planId',
  'selection.mode': 'selection',
  'selection.percent': 'sharePercent',
  selection: 'selection',
  minGapCycles: 'minGapCycles',
  leadHours: 'leadHours',
};

/** Each field's refusal, in the merchant's words. */
const WORDS: Record<string, string> = {
  name: 'Give the campaign a name (up to 120 characters)',
  giftAddonId: 'Choose one of your add-ons as the gift',
  unitCost: 'Type what one gift costs you, such as 3.00',
  stockBudget: 'Type how many gifts at most, from 1 to 10,000',
  costBudget: 'Type what the gifts may cost at most, such as 150.00',
  startsOn: 'Choose the first charge date whose box may get a gift',
  endsOn: 'The last date must be on or after the first date',
  planId: 'Choose one of your plans, or any plan',
  minPaidBoxes: 'Type a whole number of paid boxes from 0 to 1,000, or leave it empty',
  topSpendPercent: 'Type a whole percent from 1 to 100, or leave it empty',
  selection: 'Choose everyone eligible or a random share',
  sharePercent: 'Type the share as a whole percent from 1 to 100',
  minGapCycles: 'Type a whole number of boxes from 0 to 52, or leave it empty',
  leadHours: 'Type a whole number of hours from 1 to 720, or leave it empty',
};

/** The new-campaign form → the API's CreateGiftCampaignBody, costs in the store's currency. */
export function readGiftCampaignForm(body: unknown, currency: string): RetentionForm<CreateGiftCampaignBody> {
  const { values, errors } = stringFields(body, FIELDS);
  const unitCostMinor = typedAmount(values, 'unitCost', currency, errors);
  const costBudgetMinor = typedAmount(values, 'costBudget', currency, errors);
  const whole = (field: string) => typedWhole(values, field, errors, WORDS[field]!);
  const stockBudget = whole('stockBudget');
  const minPaidBoxes = whole('minPaidBoxes');
  const topSpendPercent = whole('topSpendPercent');
  const sharePercent = whole('sharePercent');
  const minGapCycles = whole('minGapCycles');
  const leadHours = whole('leadHours');
  const planId = (values.planId ?? '').trim();
  const eligibility = {
    ...(planId ? { planIds: [planId] } : {}),
    ...(minPaidBoxes !== undefined ? { minPaidBoxes } : {}),
    ...(topSpendPercent !== undefined ? { topSpendPercent } : {}),
  };
  const mode = values.selection ?? 'all';
  const input = {
    name: values.name ?? '',
    giftAddonIds: values.giftAddonId ? [values.giftAddonId] : [],
    unitCostMinor,
    currency,
    stockBudget,
    costBudgetMinor,
    startsOn: (values.startsOn ?? '').trim(),
    ...(values.endsOn?.trim() ? { endsOn: values.endsOn.trim() } : {}),
    ...(Object.keys(eligibility).length > 0 ? { eligibility } : {}),
    selection: mode === 'random_share' ? { mode, percent: sharePercent } : { mode },
    ...(minGapCycles !== undefined ? { minGapCycles } : {}),
    ...(leadHours !== undefined ? { leadHours } : {}),
  };
  // The schema checks the dates' order only once every other field is right: said at once here.
  if (input.endsOn && input.endsOn < input.startsOn) errors.endsOn = WORDS.endsOn!;
  const parsed = CreateGiftCampaignBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, FIELD_OF, WORDS, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

function money(amount: { amountMinor: number; currency: string }, locale: string): string {
  return formatMoney(amount.amountMinor, amount.currency, locale);
}

const STATUS_WORDS: Record<GiftCampaignView['status'], string> = { draft: 'Draft', active: 'Live', ended: 'Ended' };
const AWARD_WORDS: Record<string, string> = { granted: 'Granted', in_box: 'In the box', delivered: 'Delivered', returned: 'Given back' };

function windowWords(campaign: GiftCampaignView, locale: string): string {
  const from = longDate(campaign.startsOn, locale);
  return campaign.endsOn ? `${from} to ${longDate(campaign.endsOn, locale)}` : `From ${from}, no end date`;
}

async function addonNames(merchantId: string, ids: readonly string[]): Promise<Map<string, string>> {
  return new Map((await findAddons(merchantId, ids)).map((addon) => [addon._id, addon.name]));
}

function campaignRow(campaign: GiftCampaignView, names: Map<string, string>, locale: string) {
  return {
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    statusWords: STATUS_WORDS[campaign.status],
    window: windowWords(campaign, locale),
    gift: campaign.giftAddonIds.map((id) => names.get(id) ?? 'An archived add-on').join(', then '),
    stock: `${plural(campaign.remaining.count, 'gift', 'gifts')} left of ${campaign.stockBudget.toLocaleString('en-US')}`,
    cost: `${money(campaign.remaining.cost, locale)} left of ${money(campaign.costBudget, locale)}`,
  };
}

/** Who is chosen, in words: the eligibility rules and the selection. */
function whoWords(campaign: GiftCampaignView, planNames: Map<string, string>): string[] {
  const { eligibility, selection } = campaign;
  const words: string[] = [];
  if (eligibility.planIds) words.push(`Subscribers of ${eligibility.planIds.map((id) => planNames.get(id) ?? 'a plan').join(' or ')}`);
  else words.push('Subscribers of any plan');
  if (eligibility.minPaidBoxes !== null) words.push(`with at least ${plural(eligibility.minPaidBoxes, 'paid box', 'paid boxes')}`);
  if (eligibility.tierKeys) words.push(`holding the loyalty tier ${eligibility.tierKeys.join(' or ')}`);
  if (eligibility.topSpendPercent !== null) words.push(`among your top ${eligibility.topSpendPercent}% of shoppers by spend over 12 months`);
  const lines = [words.join(', ')];
  lines.push(
    selection.mode === 'all' ? 'Everyone eligible gets a gift, while the budgets last.' : `A random ${selection.percent}% of those eligible get a gift.`,
  );
  if (campaign.minGapCycles > 0) lines.push(`No gift to a subscription gifted in its previous ${plural(campaign.minGapCycles, 'box', 'boxes')}.`);
  lines.push(`Boxes are picked up to ${plural(campaign.leadHours, 'hour', 'hours')} before their cut-off.`);
  return lines;
}

/** The dry run as the page shows it: how many, what stock and budget it would use, and the first picks. */
async function dryRunView(dryRun: GiftDryRunView, campaign: GiftCampaignView, profile: MerchantProfile, locale: string) {
  const shown = dryRun.picks.slice(0, PICKS_SHOWN);
  const customers = new Map(
    (
      await customersByIds(
        profile._id,
        shown.map((pick) => pick.customerId),
      )
    ).map((c) => [c._id, c]),
  );
  const used = campaign.remaining.count - dryRun.remainingAfter.count;
  return {
    from: dateTimeIn(dryRun.from, profile.timezone, locale),
    until: dateTimeIn(dryRun.until, profile.timezone, locale),
    eligible: dryRun.eligible,
    picked: dryRun.picks.length,
    summary:
      dryRun.picks.length === 0
        ? `No box would get a gift now: ${dryRun.eligible === 0 ? 'no eligible box has its cut-off in this window' : 'the budgets or the selection leave none'}.`
        : `${plural(dryRun.picks.length, 'box', 'boxes')} would get a gift, of ${plural(dryRun.eligible, 'eligible box', 'eligible boxes')}.`,
    stockUse: `${plural(used, 'gift', 'gifts')} from the stock budget (${dryRun.remainingAfter.count.toLocaleString('en-US')} left after), ${money(
      { amountMinor: campaign.remaining.cost.amountMinor - dryRun.remainingAfter.cost.amountMinor, currency: dryRun.remainingAfter.cost.currency },
      locale,
    )} of the cost budget (${money(dryRun.remainingAfter.cost, locale)} left after).`,
    picks: shown.map((pick) => {
      const customer = customers.get(pick.customerId);
      return {
        subscriptionId: pick.subscriptionId,
        who: customer ? customer.name || customer.email : 'A shopper',
        email: customer?.email ?? '',
        cycle: pick.cycleKey,
        cutoff: dateTimeIn(pick.cutoffAt, profile.timezone, locale),
        gift: pick.description,
      };
    }),
    more: dryRun.picks.length > shown.length ? dryRun.picks.length - shown.length : 0,
  };
}

function horizonOf(req: Request): number | undefined {
  const days = typeof req.query.days === 'string' ? req.query.days : '';
  if (!/^\d{1,2}$/.test(days)) return undefined;
  const n = Number(days);
  return n >= 1 && n <= 60 ? n : undefined;
}

export function giftCampaignPages(deps: { clock: Clock }): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const status = (['draft', 'active', 'ended'] as const).find((s) => s === req.query.status);
    const page = await firstPageOnBadCursor((startingAfter) => listGiftCampaigns(merchantId, { limit: PAGE_SIZE, startingAfter, status }), afterOf(req));
    const names = await addonNames(
      merchantId,
      page.data.flatMap((c) => c.giftAddonIds),
    );
    const locale = localeOf(req);
    res.render('merchant/retention/gifts', {
      title: 'Surprise gifts',
      status: status ?? '',
      campaigns: page.data.map((c) => campaignRow(c, names, locale)),
      older: page.hasMore && page.nextCursor ? `${BASE}?${status ? `status=${status}&` : ''}after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  async function renderNew(res: Response, values: FormValues, errors: FieldErrors, status = 200): Promise<void> {
    const merchantId = signedInMerchant(res).merchantId;
    const profile = await signedInStore(res);
    const [addons, plans] = await Promise.all([
      listAddons(merchantId, { limit: 100, status: 'active' }),
      listPlans(merchantId, { limit: 100, status: 'active' }),
    ]);
    res.status(status).render('merchant/retention/gift-new', {
      title: 'New surprise-gift campaign',
      currency: profile.defaultCurrency,
      addons: addons.data.map((a) => ({ id: a.id, name: a.name, stock: a.stock.tracked ? `${a.stock.onHand ?? 0} in stock` : 'stock not counted' })),
      plans: plans.data.map((p) => ({ id: p.id, name: p.name })),
      values: { selection: 'all', ...values },
      errors,
    });
  }

  router.get(`${BASE}/new`, async (_req, res) => {
    await renderNew(res, {}, {});
  });

  router.post(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const form = readGiftCampaignForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderNew(res, form.values, form.errors, 400);
    try {
      const campaign = await createGiftCampaign(deps.clock, profile._id, form.body);
      res.redirect(303, `${BASE}/${campaign.id}?done=created#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (!refused) throw error;
      await renderNew(res, form.values, placeRefusal(refused, FIELD_OF, WORDS), 400);
    }
  });

  router.get(`${BASE}/:id`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const campaign = await getGiftCampaign(merchantId, idOf(req.params.id));
    const profile = await signedInStore(res);
    const locale = localeOf(req);
    const days = horizonOf(req);
    const [names, plans, dryRun, awards] = await Promise.all([
      addonNames(merchantId, campaign.giftAddonIds),
      listPlans(merchantId, { limit: 100 }),
      campaign.status === 'ended' ? null : dryRunGiftCampaign(deps.clock, merchantId, campaign.id, { horizonDays: days }),
      firstPageOnBadCursor((startingAfter) => listGiftAwards(merchantId, campaign.id, { limit: PAGE_SIZE, startingAfter }), afterOf(req)),
    ]);
    const awardCustomers = new Map(
      (
        await customersByIds(
          merchantId,
          awards.data.map((a) => a.customerId),
        )
      ).map((c) => [c._id, c]),
    );
    res.render('merchant/retention/gift', {
      title: campaign.name,
      receipt: receiptOf(req, DONE),
      campaign: {
        ...campaignRow(campaign, names, locale),
        unitCost: money(campaign.unitCost, locale),
        granted: campaign.granted,
        who: whoWords(campaign, new Map(plans.data.map((p) => [p.id, p.name]))),
      },
      days: days ?? '',
      dryRun: dryRun ? await dryRunView(dryRun, campaign, profile, locale) : null,
      awards: awards.data.map((award) => {
        const customer = awardCustomers.get(award.customerId);
        return {
          subscriptionId: award.subscriptionId,
          who: customer ? customer.name || customer.email : 'A shopper',
          cycle: award.cycleKey,
          gift: award.description,
          status: award.status,
          statusWords: AWARD_WORDS[award.status] ?? award.status,
          reason: award.returnReason,
          at: dateTimeIn(award.createdAt, profile.timezone, locale),
        };
      }),
      olderAwards: awards.hasMore && awards.nextCursor ? `${BASE}/${campaign.id}?after=${encodeURIComponent(awards.nextCursor)}#awards` : null,
    });
  });

  router.get(`${BASE}/:id/activate`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const campaign = await getGiftCampaign(merchantId, idOf(req.params.id));
    if (campaign.status !== 'draft') return res.redirect(303, `${BASE}/${campaign.id}`);
    const dryRun = await dryRunGiftCampaign(deps.clock, merchantId, campaign.id, {});
    const view = await dryRunView(dryRun, campaign, await signedInStore(res), localeOf(req));
    res.render('merchant/catalog/confirm', {
      title: `Activate ${campaign.name}?`,
      heading: `Activate ${campaign.name}?`,
      explain: [
        'From now on, the job picks boxes before their cut-off and puts the gift in them. Shoppers are not told in advance.',
        `At the coming cut-offs: ${view.summary}`,
        `That would use ${view.stockUse}`,
        'You can end the campaign at any time; gifts already granted stay with their boxes. An ended campaign cannot be activated again.',
      ],
      action: `${BASE}/${campaign.id}/activate`,
      fields: {},
      button: 'Yes, activate the campaign',
      back: `${BASE}/${campaign.id}`,
      danger: false,
    });
  });

  router.get(`${BASE}/:id/end`, async (req, res) => {
    const campaign = await getGiftCampaign(signedInMerchant(res).merchantId, idOf(req.params.id));
    if (campaign.status === 'ended') return res.redirect(303, `${BASE}/${campaign.id}`);
    res.render('merchant/catalog/confirm', {
      title: `End ${campaign.name}?`,
      heading: `End ${campaign.name}?`,
      explain: [
        'No more boxes are picked for a gift.',
        `Gifts already granted (${campaign.granted.toLocaleString('en-US')}) stay with their boxes.`,
        'An ended campaign cannot be activated again: you would create a new one.',
      ],
      action: `${BASE}/${campaign.id}/end`,
      fields: {},
      button: 'Yes, end the campaign',
      back: `${BASE}/${campaign.id}`,
      danger: true,
    });
  });

  for (const [path, move, done] of [
    ['activate', activateGiftCampaign, 'activated'],
    ['end', endGiftCampaign, 'ended'],
  ] as const) {
    router.post(`${BASE}/:id/${path}`, async (req, res) => {
      const merchantId = signedInMerchant(res).merchantId;
      const campaign = await getGiftCampaign(merchantId, idOf(req.params.id));
      try {
        await move(deps.clock, merchantId, campaign.id);
      } catch (error) {
        if (!(error instanceof InvalidStateError)) throw error;
        return res.status(409).render('merchant/retention/refused', { title: 'Not done', message: error.message, back: `${BASE}/${campaign.id}` });
      }
      res.redirect(303, `${BASE}/${campaign.id}?done=${done}#receipt`);
    });
  }

  return router;
}
