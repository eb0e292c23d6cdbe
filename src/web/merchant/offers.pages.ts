import { Router, type Response } from 'express';
import { z } from 'zod';
import type { MerchantProfile } from '../../merchants/merchant.queries';
import { CreateOfferBody, type OfferView } from '../../offers/offer.schemas';
import { archiveOffer, createOffer, getOffer, listOffers } from '../../offers/offer.service';
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
 * The merchant's offers (`/merchant/retention/offers`): the list by kind (threshold, comeback, birthday,
 * anniversary), the new-offer form checked by the API's CreateOfferBody, an offer's page and its archive after
 * a confirmation. The same services as `POST /offers` and `POST /offers/:id/archive`, scoped by the signed-in
 * merchant: another store's offer is not found.
 */
const BASE = '/merchant/retention/offers';
const PAGE_SIZE = 50;
const KINDS = ['threshold', 'comeback', 'birthday', 'anniversary'] as const;
type Kind = (typeof KINDS)[number];
const ListQuery = z.object({ kind: z.enum(KINDS).optional().catch(undefined), after: z.string().max(200).optional().catch(undefined) });

export const KIND_WORDS: Record<Kind, { label: string; explain: string }> = {
  threshold: { label: 'Spend thresholds', explain: 'An amount off a box that reaches a spend; one a box, the one saving most.' },
  comeback: { label: 'Comeback', explain: 'A discount on the first box of a shopper who subscribes again within some days of ending.' },
  birthday: { label: 'Birthday', explain: 'Points, credit or a free add-on once a year, on the shopper’s birthday.' },
  anniversary: { label: 'Anniversary', explain: 'Points, credit or a free add-on once a year, on the subscription’s anniversary.' },
};

const DONE: Record<string, string> = {
  created: 'The offer is created and applies from now on.',
  archived: 'The offer is archived: it applies no more; what it gave before stays given.',
};

const SINGLE = new Set([
  'name',
  'kind',
  ...ELIGIBILITY_FIELDS.single,
  'threshold.basis',
  'threshold.minSpend',
  'threshold.amountOff',
  'comeback.withinDays',
  'comeback.type',
  'comeback.value',
  'reward.type',
  'reward.points',
  'reward.credit',
  'reward.addonId',
  'reward.quantity',
]);
const MULTI = new Set<string>(ELIGIBILITY_FIELDS.multi);

function offerFieldOf(kind: string): FieldOf {
  return (path) => {
    const [head, ...rest] = path;
    if (head === 'name' || head === 'kind') return head;
    if (head === 'eligibility') return eligibilityFieldOf(rest);
    if (head === 'basis') return 'threshold.basis';
    if (head === 'minSpendMinor') return 'threshold.minSpend';
    if (head === 'amountOffMinor') return kind === 'threshold' ? 'threshold.amountOff' : 'comeback.value';
    if (head === 'withinDays') return 'comeback.withinDays';
    if (head === 'percentOff') return 'comeback.value';
    if (head === 'reward') {
      const field = rest[0];
      if (field === 'points') return 'reward.points';
      if (field === 'creditMinor') return 'reward.credit';
      if (field === 'addonId') return 'reward.addonId';
      if (field === 'quantity') return 'reward.quantity';
      return 'reward.type';
    }
    if (kind === 'comeback') return 'comeback.value'; // "give either percentOff or amountOffMinor"
    return '_form';
  };
}

/** The new-offer form → CreateOfferBody; amounts are typed in the merchant's currency, the offer's currency. */
export function readOfferForm(body: unknown, currency: string): RetentionForm<CreateOfferBody> {
  const { values, errors } = formFields(body, SINGLE, MULTI);
  const kind = text(values, 'kind');
  const name = text(values, 'name');
  let input: Record<string, unknown> = { kind, name };
  if (kind === 'threshold' || kind === 'birthday' || kind === 'anniversary') input.eligibility = eligibilityIn(values, errors);
  if (kind === 'threshold') {
    const basis = text(values, 'threshold.basis') || 'box_total';
    input = {
      ...input,
      basis,
      minSpendMinor: amountIn(values, 'threshold.minSpend', currency, errors) ?? 0,
      amountOffMinor: amountIn(values, 'threshold.amountOff', currency, errors) ?? 0,
    };
  } else if (kind === 'comeback') {
    const withinDays = wholeNumberIn(values, 'comeback.withinDays', errors, 'Type a whole number of days, such as 90');
    if (withinDays === undefined) errors['comeback.withinDays'] ??= 'Type within how many days of ending it applies';
    const type = text(values, 'comeback.type');
    input.withinDays = withinDays ?? 0;
    if (type === 'percent') {
      const percentOff = wholeNumberIn(values, 'comeback.value', errors, 'Type a whole percent from 1 to 100');
      if (percentOff === undefined) errors['comeback.value'] ??= 'Type the percent off';
      input.percentOff = percentOff ?? 0;
    } else if (type === 'amount') input.amountOffMinor = amountIn(values, 'comeback.value', currency, errors) ?? 0;
    else errors['comeback.type'] = 'Choose a percent or an amount off';
  } else if (kind === 'birthday' || kind === 'anniversary') {
    const type = text(values, 'reward.type');
    if (type === 'points') {
      const points = wholeNumberIn(values, 'reward.points', errors, 'Type a whole number of points');
      if (points === undefined) errors['reward.points'] ??= 'Type how many points';
      input.reward = { type, points: points ?? 0 };
    } else if (type === 'credit') input.reward = { type, creditMinor: amountIn(values, 'reward.credit', currency, errors) ?? 0 };
    else if (type === 'free_addon') {
      if (!text(values, 'reward.addonId')) errors['reward.addonId'] = 'Choose the add-on it gives';
      const quantity = wholeNumberIn(values, 'reward.quantity', errors, 'Type a whole number, such as 1');
      input.reward = { type, addonId: text(values, 'reward.addonId'), ...(quantity !== undefined ? { quantity } : {}) };
    } else errors['reward.type'] = 'Choose points, credit or a free add-on';
  } else errors.kind = 'Choose the kind of offer';
  const parsed = CreateOfferBody.safeParse(input);
  if (!parsed.success) {
    const money = new Set([
      'threshold.minSpend',
      'threshold.amountOff',
      'reward.credit',
      ...(text(values, 'comeback.type') === 'amount' ? ['comeback.value'] : []),
    ]);
    placeIssues(parsed.error, offerFieldOf(kind), errors, { fields: money, currency });
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

/** What an offer gives, and when, in words. */
function termsOf(offer: OfferView, names: Names, locale: string): string {
  const money = (amountMinor: number) => formatMoney(amountMinor, offer.currency, locale);
  if (offer.threshold) {
    const counted = offer.threshold.basis === 'addons' ? 'the add-ons in a box reach' : 'a box reaches';
    return `${money(offer.threshold.amountOffMinor)} off when ${counted} ${money(offer.threshold.minSpendMinor)}`;
  }
  if (offer.comeback) {
    const off = offer.comeback.percentOff !== null ? `${offer.comeback.percentOff}% off` : `${money(offer.comeback.amountOffMinor ?? 0)} off`;
    return `${off} the first box of a shopper who subscribes again within ${offer.comeback.withinDays} ${offer.comeback.withinDays === 1 ? 'day' : 'days'} of ending`;
  }
  const reward = offer.reward as { type: string; points?: number; creditMinor?: number; addonId?: string; quantity?: number } | null;
  const when = offer.kind === 'birthday' ? 'on the shopper’s birthday' : 'on the subscription’s anniversary';
  if (!reward) return when;
  const what =
    reward.type === 'points'
      ? `${(reward.points ?? 0).toLocaleString(locale)} points`
      : reward.type === 'credit'
        ? `${money(reward.creditMinor ?? 0)} of credit`
        : `A free ${names.addon(reward.addonId ?? '')}${(reward.quantity ?? 1) > 1 ? ` ×${reward.quantity}` : ''} in the next box`;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}, once a year ${when}`;
}

function offerRow(offer: OfferView, names: Names, profile: MerchantProfile, locale: string) {
  return {
    id: offer.id,
    name: offer.name,
    kind: offer.kind,
    kindLabel: KIND_WORDS[offer.kind].label,
    status: offer.status,
    terms: termsOf(offer, names, locale),
    forWhom: offer.kind === 'comeback' ? ['Shoppers whose subscription ended'] : eligibilityWords(offer.eligibility, names, locale),
    created: dateIn(offer.createdAt, profile.timezone, locale),
  };
}

async function namesOfOffers(merchantId: string, offers: OfferView[]): Promise<Names> {
  return namesFor(merchantId, {
    planIds: offers.flatMap((offer) => (offer.eligibility.planIds as string[] | undefined) ?? []),
    addonIds: offers.flatMap((offer) => (typeof offer.reward?.addonId === 'string' ? [offer.reward.addonId] : [])),
  });
}

export function offerPages(deps: { clock: Clock }): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const query = ListQuery.parse(req.query);
    const read = (startingAfter: string | undefined) => listOffers(profile._id, { limit: PAGE_SIZE, kind: query.kind, startingAfter });
    const page = await firstPageOnBadCursor(read, query.after);
    const locale = localeOf(req);
    const names = await namesOfOffers(profile._id, page.data);
    const rows = page.data.map((offer) => offerRow(offer, names, profile, locale));
    res.render('merchant/retention/offers', {
      title: query.kind ? `${KIND_WORDS[query.kind].label} offers` : 'Offers',
      crumbs: crumbs({ label: 'Offers' }),
      kind: query.kind ?? null,
      kinds: KINDS.map((kind) => ({ kind, ...KIND_WORDS[kind] })),
      groups: (query.kind ? [query.kind] : KINDS)
        .map((kind) => ({ kind, ...KIND_WORDS[kind], offers: rows.filter((row) => row.kind === kind) }))
        .filter((group) => query.kind || group.offers.length > 0),
      older: page.hasMore && page.nextCursor ? `${BASE}?${query.kind ? `kind=${query.kind}&` : ''}after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  async function renderNew(res: Response, profile: MerchantProfile, values: RetentionValues, errors: FieldErrors, status = 200): Promise<void> {
    res.status(status).render('merchant/retention/offers-new', {
      title: 'New offer',
      crumbs: crumbs({ label: 'Offers', href: BASE }, { label: 'New offer' }),
      values: { 'threshold.basis': 'box_total', 'comeback.type': 'percent', 'reward.type': 'points', ...values },
      errors,
      choices: await choicesOf(profile._id, profile.defaultCurrency),
      kinds: KINDS.map((kind) => ({ kind, ...KIND_WORDS[kind] })),
    });
  }

  router.get(`${BASE}/new`, async (req, res) => {
    const kind = KINDS.find((k) => k === req.query.kind);
    await renderNew(res, await signedInStore(res), kind ? { kind } : {}, {});
  });

  router.post(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const form = readOfferForm(req.body, profile.defaultCurrency);
    if (!form.ok) return renderNew(res, profile, form.values, form.errors, 400);
    try {
      const offer = await createOffer(deps.clock, profile._id, form.body);
      res.redirect(303, `${BASE}/${offer.id}?done=created#receipt`);
    } catch (error) {
      const refused = errorsOf(error);
      if (!refused) throw error;
      await renderNew(res, profile, form.values, placeRefusal(refused, offerFieldOf(form.body.kind)), 400);
    }
  });

  router.get(`${BASE}/:id`, async (req, res) => {
    const profile = await signedInStore(res);
    const offer = await getOffer(profile._id, idOf(req.params.id));
    const done = typeof req.query.done === 'string' && Object.hasOwn(DONE, req.query.done) ? DONE[req.query.done]! : null;
    res.render('merchant/retention/offers-show', {
      title: offer.name,
      crumbs: crumbs({ label: 'Offers', href: BASE }, { label: offer.name }),
      offer: {
        ...offerRow(offer, await namesOfOffers(profile._id, [offer]), profile, localeOf(req)),
        explain: KIND_WORDS[offer.kind].explain,
        currency: offer.currency,
      },
      receipt: done,
    });
  });

  router.get(`${BASE}/:id/archive`, async (req, res) => {
    const profile = await signedInStore(res);
    const offer = await getOffer(profile._id, idOf(req.params.id));
    res.render('merchant/retention/offers-archive', {
      title: `Archive ${offer.name}?`,
      crumbs: crumbs({ label: 'Offers', href: BASE }, { label: offer.name, href: `${BASE}/${offer.id}` }, { label: 'Archive' }),
      offer: offerRow(offer, await namesOfOffers(profile._id, [offer]), profile, localeOf(req)),
    });
  });

  router.post(`${BASE}/:id/archive`, async (req, res) => {
    const offer = await archiveOffer(deps.clock, signedInMerchant(res).merchantId, idOf(req.params.id));
    res.redirect(303, `${BASE}/${offer.id}?done=archived#receipt`);
  });

  return router;
}
