import { Router, type Request, type Response } from 'express';
import { customersByIds } from '../../customers/customer.queries';
import type { PromotionSyncDeps } from '../../promotions/promotion-stripe-sync.service';
import { CreatePromoCodeBody, type PromoCodeView } from '../../promotions/promotion.schemas';
import {
  archivePromoCode,
  createPromoCode,
  getPromoCode,
  listPromoCodeRedemptions,
  listPromoCodes,
  PromoCodeTakenError,
} from '../../promotions/promotion.service';
import { addLocalDays, isLocalDate, toInstant } from '../../shared/calendar';
import { InvalidStateError } from '../../shared/errors';
import { formatMoney, isCurrency } from '../../shared/money';
import { errorsOf, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
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
 * Promo codes (`/merchant/retention/promo-codes`): the list, the new-code form (the API's CreatePromoCodeBody),
 * a code's page with the subscriptions that used it, and archive (confirmed). Same services as the API
 * (src/promotions/promotion.service.ts): a new or archived code is mirrored to Stripe as the API does.
 */
const BASE = '/merchant/retention/promo-codes';
const PAGE_SIZE = 25;

const DONE: Record<string, string> = {
  created: 'The promo code is created. Shoppers can apply it from now on.',
  archived: 'The promo code is archived: no one can apply it any more. Subscriptions that applied it keep their discount.',
};

const FIELDS = [
  'code',
  'description',
  'discountType',
  'discountValue',
  'currency',
  'duration',
  'durationInBoxes',
  'firstBoxOnly',
  'maxRedemptions',
  'expiresOn',
] as const;

const FIELD_OF: Record<string, string> = {
  code: 'code',
  description: 'description',
  percentOff: 'discountValue',
  amountOffMinor: 'discountValue',
  currency: 'currency',
  duration: 'duration',
  durationInBoxes: 'durationInBoxes',
  firstBoxOnly: 'firstBoxOnly',
  maxRedemptions: 'maxRedemptions',
  expiresAt: 'expiresOn',
};

const WORDS: Record<string, string> = {
  code: 'Type 3 to 32 letters, digits or dashes, such as SPRING-10',
  description: 'Say in a few words what the shopper gets (up to 200 characters)',
  duration: 'Choose one box, a number of boxes or every box',
  durationInBoxes: 'For a number of boxes, type how many: from 2 to 52',
  maxRedemptions: 'Type a whole number of uses, or leave it empty for no limit',
  expiresOn: 'Choose a date, or leave it empty for no end',
  currency: 'The currency goes with an amount off only',
};

/** The new-code form → the API's CreatePromoCodeBody; the last day is the end of that day in the store's zone. */
export function readPromoCodeForm(body: unknown, store: { defaultCurrency: string; timezone: string }): RetentionForm<CreatePromoCodeBody> {
  const { values, errors } = stringFields(body, FIELDS);
  const type = values.discountType;
  if (type !== 'percent' && type !== 'amount') errors.discountType = 'Choose a percent or an amount off';
  const typedCurrency = (values.currency ?? '').trim().toUpperCase();
  if (typedCurrency !== '' && !isCurrency(typedCurrency)) errors.currency = 'Type a currency code such as USD, EUR or JPY';
  const currency = typedCurrency !== '' && isCurrency(typedCurrency) ? typedCurrency : store.defaultCurrency;
  const value =
    type === 'amount'
      ? typedAmount(values, 'discountValue', currency, errors)
      : typedWhole(values, 'discountValue', errors, 'Type a whole percent from 1 to 100');
  if (type && value === undefined && !errors.discountValue)
    errors.discountValue = type === 'amount' ? 'Type the amount off, such as 5.00' : 'Type the percent off';
  const expiresOn = (values.expiresOn ?? '').trim();
  let expiresAt: string | undefined;
  if (expiresOn !== '') {
    if (isLocalDate(expiresOn)) expiresAt = toInstant(addLocalDays(expiresOn, 1), '00:00', store.timezone).toISOString();
    else errors.expiresOn = WORDS.expiresOn!;
  }
  const input = {
    code: values.code ?? '',
    description: values.description ?? '',
    ...(type === 'percent' ? { percentOff: value } : {}),
    ...(type === 'amount' ? { amountOffMinor: value, currency } : {}),
    duration: values.duration || 'once',
    ...(values.duration === 'repeating' ? { durationInBoxes: typedWhole(values, 'durationInBoxes', errors, WORDS.durationInBoxes!) } : {}),
    firstBoxOnly: values.firstBoxOnly === 'on',
    ...(values.maxRedemptions?.trim() ? { maxRedemptions: typedWhole(values, 'maxRedemptions', errors, WORDS.maxRedemptions!) } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
  const words = {
    ...WORDS,
    discountValue: type === 'amount' ? 'Type an amount off of at least the smallest unit, such as 5.00' : 'Type a whole percent from 1 to 100',
  };
  const parsed = CreatePromoCodeBody.safeParse(input);
  if (!parsed.success) placeIssues(parsed.error, FIELD_OF, words, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors, values };
  return { ok: true, body: parsed.data, values };
}

const DURATION_WORDS = (code: PromoCodeView) =>
  code.duration === 'once' ? 'One box' : code.duration === 'forever' ? 'Every box' : `${code.durationInBoxes ?? 0} boxes`;

function codeRow(code: PromoCodeView, timezone: string, locale: string) {
  return {
    id: code.id,
    code: code.code,
    description: code.description,
    off:
      code.percentOff !== null
        ? `${code.percentOff}% off`
        : code.amountOff
          ? `${formatMoney(code.amountOff.amountMinor, code.amountOff.currency, locale)} off`
          : '',
    duration: DURATION_WORDS(code),
    firstBoxOnly: code.firstBoxOnly,
    uses:
      code.maxRedemptions === null
        ? plural(code.redemptionCount, 'use', 'uses')
        : `${code.redemptionCount.toLocaleString('en-US')} of ${plural(code.maxRedemptions, 'use', 'uses')}`,
    expires: code.expiresAt ? dateTimeIn(code.expiresAt, timezone, locale) : null,
    status: code.status,
    statusWords: code.status === 'archived' ? 'Archived' : code.usable ? 'Usable' : 'Expired or used up',
    stripe: code.stripe.state === 'synced' ? 'Mirrored to Stripe' : 'Waiting to be mirrored to Stripe (retried every minute)',
  };
}

export function promoCodePages(deps: PromotionSyncDeps): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  router.get(BASE, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const status = req.query.status === 'active' || req.query.status === 'archived' ? req.query.status : undefined;
    const [profile, page] = await Promise.all([
      signedInStore(res),
      firstPageOnBadCursor((startingAfter) => listPromoCodes(deps.clock, merchantId, { limit: PAGE_SIZE, startingAfter, status }), afterOf(req)),
    ]);
    const locale = localeOf(req);
    res.render('merchant/retention/promo-codes', {
      title: 'Promo codes',
      status: status ?? '',
      codes: page.data.map((code) => codeRow(code, profile.timezone, locale)),
      older: page.hasMore && page.nextCursor ? `${BASE}?${status ? `status=${status}&` : ''}after=${encodeURIComponent(page.nextCursor)}` : null,
    });
  });

  async function renderNew(res: Response, values: FormValues, errors: FieldErrors, status = 200): Promise<void> {
    const profile = await signedInStore(res);
    res.status(status).render('merchant/retention/promo-code-new', {
      title: 'New promo code',
      currency: profile.defaultCurrency,
      values: { discountType: 'percent', duration: 'once', ...values },
      errors,
    });
  }

  router.get(`${BASE}/new`, async (_req, res) => {
    await renderNew(res, {}, {});
  });

  router.post(BASE, async (req, res) => {
    const profile = await signedInStore(res);
    const form = readPromoCodeForm(req.body, profile);
    if (!form.ok) return renderNew(res, form.values, form.errors, 400);
    try {
      const code = await createPromoCode(deps, profile._id, form.body);
      res.redirect(303, `${BASE}/${code.id}?done=created#receipt`);
    } catch (error) {
      if (error instanceof PromoCodeTakenError) return renderNew(res, form.values, { code: 'Another promo code of yours has this code' }, 409);
      const refused = errorsOf(error);
      if (!refused) throw error;
      await renderNew(res, form.values, placeRefusal(refused, FIELD_OF, WORDS), 400);
    }
  });

  async function renderCode(req: Request, res: Response): Promise<void> {
    const merchantId = signedInMerchant(res).merchantId;
    const code = await getPromoCode(deps.clock, merchantId, idOf(req.params.id));
    const [profile, redemptions] = await Promise.all([
      signedInStore(res),
      firstPageOnBadCursor((startingAfter) => listPromoCodeRedemptions(merchantId, code.id, { limit: PAGE_SIZE, startingAfter }), afterOf(req)),
    ]);
    const locale = localeOf(req);
    const people = new Map(
      (
        await customersByIds(
          merchantId,
          redemptions.data.map((r) => r.customerId),
        )
      ).map((c) => [c._id, c.name || c.email]),
    );
    res.render('merchant/retention/promo-code', {
      title: code.code,
      receipt: receiptOf(req, DONE),
      code: codeRow(code, profile.timezone, locale),
      redemptions: redemptions.data.map((r) => ({
        subscriptionId: r.subscriptionId,
        who: people.get(r.customerId) ?? 'A shopper',
        at: dateTimeIn(r.redeemedAt, profile.timezone, locale),
      })),
      older: redemptions.hasMore && redemptions.nextCursor ? `${BASE}/${code.id}?after=${encodeURIComponent(redemptions.nextCursor)}#redemptions` : null,
    });
  }

  router.get(`${BASE}/:id`, renderCode);

  router.get(`${BASE}/:id/archive`, async (req, res) => {
    const code = await getPromoCode(deps.clock, signedInMerchant(res).merchantId, idOf(req.params.id));
    if (code.status === 'archived') return res.redirect(303, `${BASE}/${code.id}`);
    res.render('merchant/catalog/confirm', {
      title: `Archive ${code.code}?`,
      heading: `Archive the promo code ${code.code}?`,
      explain: [
        'No one can apply it any more, on your storefront, through the API or in Stripe.',
        `Subscriptions that applied it (${code.redemptionCount.toLocaleString('en-US')}) keep their discount for the boxes it covers.`,
        'This cannot be undone: you would create a new code.',
      ],
      action: `${BASE}/${code.id}/archive`,
      fields: {},
      button: 'Yes, archive the code',
      back: `${BASE}/${code.id}`,
      danger: true,
    });
  });

  router.post(`${BASE}/:id/archive`, async (req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const code = await getPromoCode(deps.clock, merchantId, idOf(req.params.id));
    try {
      await archivePromoCode(deps, merchantId, code.id);
    } catch (error) {
      if (!(error instanceof InvalidStateError)) throw error;
      return res.status(409).render('merchant/retention/refused', { title: 'Not done', message: error.message, back: `${BASE}/${code.id}` });
    }
    res.redirect(303, `${BASE}/${code.id}?done=archived#receipt`);
  });

  return router;
}
