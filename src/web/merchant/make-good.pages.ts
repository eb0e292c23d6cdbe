import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { listAddons } from '../../addons/addon.service';
import { customerName } from '../../customers/customer.queries';
import { loyaltyProgramOf } from '../../loyalty/loyalty.service';
import { merchantProfile } from '../../merchants/merchant.queries';
import { activePlansOf } from '../../plans/plan.queries';
import type { MakeGoodSkipReason } from '../../retention/make-good.model';
import {
  draftMakeGood,
  getMakeGood,
  makeGoodReport,
  MAX_AFFECTED_SUBSCRIPTIONS,
  previewMakeGood,
  sendMakeGood,
  type MakeGoodInput,
  type MakeGoodReportRow,
  type MakeGoodView,
} from '../../retention/make-good.service';
import { addLocalDays, localDateOf } from '../../shared/calendar';
import { InvalidStateError, NotFoundError } from '../../shared/errors';
import { derivedId } from '../../shared/ids';
import { toDecimalString } from '../../shared/money';
import { LocalDate } from '../../shared/schemas';
import type { Clock } from '../../shared/time';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf, money } from '../shop/shop-view';
import { minorUnitsOf } from './catalog-forms';
import { merchantActor, requireMerchant, signedInMerchant } from './merchant-session';

/**
 * Owning a mistake (`/merchant/fulfilment/make-good`), on the retention engine's make-good service: pick the
 * affected boxes by ship dates, SKU and plan, write the apology and choose the make-good (points, credit on
 * the next box, a free extra); see how many and which boxes (paged on the server); confirm, and read what
 * happened to each subscriber. The form's `attempt` names the make-good, so sending a form twice is one
 * make-good, and sending it again gives nobody anything twice.
 */
export interface MakeGoodPageDeps {
  clock: Clock;
}

const BASE = '/merchant/fulfilment/make-good';
const PAGE_SIZE = 50;

const MakeGoodId = z.string().regex(/^mkg_[0-9a-z]{20}$/);
const BoxCursor = z.string().regex(/^\d{4}-\d{2}-\d{2}~ord_[0-9a-z]{1,40}$/);
const SubscriptionCursor = z.string().regex(/^sub_[0-9a-z]{1,40}$/);

const DEFAULT_SUBJECT = 'We are sorry about your box';
const DEFAULT_BODY =
  'Something went wrong with your recent box, and that is on us. We are sorry.\n\nWe have fixed what caused it, and to make it up to you, here is something from us.';

const optionalText = (max: number, words: string) =>
  z
    .string()
    .trim()
    .max(max, { error: words })
    .optional()
    .transform((value) => value || undefined);

/** The form as typed: every field a string; what it means is worked out below (money needs the currency). */
const MakeGoodForm = z.strictObject({
  attempt: z.string().regex(/^[A-Za-z0-9_-]{8,40}$/, { error: 'This form expired: reload the page and try again' }),
  fromOn: LocalDate.or(z.literal('').transform(() => undefined)).refine((v) => v !== undefined, { error: 'Choose the first ship date' }),
  toOn: LocalDate.or(z.literal('').transform(() => undefined)).refine((v) => v !== undefined, { error: 'Choose the last ship date' }),
  sku: optionalText(100, 'A SKU is at most 100 characters'),
  planId: optionalText(100, 'Choose a plan from the list'),
  kind: z.enum(['points', 'credit', 'free_addon'], { error: 'Choose what to give' }),
  points: optionalText(20, 'Type a whole number of points'),
  amount: optionalText(20, 'Type an amount such as 5.00'),
  currency: z.string().regex(/^[A-Z]{3}$/, { error: 'Choose a currency' }),
  addonId: optionalText(100, 'Choose an extra from the list'),
  quantity: optionalText(2, 'Choose from 1 to 5'),
  subject: z.string().trim().min(1, { error: 'Write a subject for the apology' }).max(150, { error: 'Keep the subject under 150 characters' }),
  body: z.string().trim().min(1, { error: 'Write the apology' }).max(2000, { error: 'Keep the apology under 2,000 characters' }),
});
type MakeGoodForm = z.output<typeof MakeGoodForm>;

/** The make-good the form asks for, or the fields it leaves wrong. */
function makeGoodOf(form: MakeGoodForm): { ok: true; input: MakeGoodInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  let gift: MakeGoodInput['gift'] | undefined;
  if (form.kind === 'points') {
    const points = Number(form.points);
    if (!/^\d{1,6}$/.test(form.points ?? '') || points < 1) errors.points = 'Type a whole number of points from 1 to 999,999';
    else gift = { type: 'points', points };
  } else if (form.kind === 'credit') {
    const amount = minorUnitsOf(form.amount ?? '', form.currency);
    if (!amount.ok) errors.amount = amount.error === 'Type a price' ? 'Type the amount of credit' : amount.error;
    else if (amount.value <= 0) errors.amount = 'Type an amount above zero';
    else gift = { type: 'credit', amountMinor: amount.value, currency: form.currency };
  } else {
    const quantity = Number(form.quantity ?? '1');
    if (!form.addonId) errors.addonId = 'Choose the extra to give';
    if (!/^[1-5]$/.test(form.quantity ?? '1')) errors.quantity = 'Choose from 1 to 5';
    if (form.addonId && !errors.quantity) gift = { type: 'free_addon', addonId: form.addonId, quantity };
  }
  if (!gift || Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    input: {
      selection: { fromOn: form.fromOn, toOn: form.toOn, sku: form.sku, planId: form.planId },
      gift,
      apology: { subject: form.subject, body: form.body.replace(/\r\n/g, '\n') },
    },
  };
}

const SendForm = z.strictObject({
  confirm: z.literal('yes', { error: 'Tick this box to confirm: each shopper is e-mailed, and it cannot be taken back' }),
});

const REASON_WORDS: Record<MakeGoodSkipReason, string> = {
  subscription_cancelled: 'Skipped: the subscription is cancelled, so there is no next box.',
  subscription_not_found: 'Skipped: the subscription no longer exists.',
  currency_mismatch: 'Skipped: the box was in another currency than the credit.',
  no_loyalty_programme: 'Skipped: the loyalty programme is off, so points and credit cannot be given.',
  extra_unavailable: 'Skipped: the extra is no longer on sale.',
};

const OUTCOME_WORDS: Record<MakeGoodReportRow['outcome'], string> = {
  given: 'Given',
  already_given: 'Already given',
  skipped: 'Skipped',
  not_yet: 'Not yet',
};

type Values = Record<string, string>;

export function makeGoodPages(deps: MakeGoodPageDeps): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  async function store(res: Response) {
    const merchant = signedInMerchant(res);
    const profile = await merchantProfile(merchant.merchantId);
    if (!profile) throw new NotFoundError('No such store.');
    const program = await loyaltyProgramOf(merchant.merchantId);
    return { merchantId: merchant.merchantId, timezone: profile.timezone, currency: program?.currency ?? profile.defaultCurrency, loyalty: Boolean(program) };
  }

  const shortDate = (localDate: string, locale: string) => {
    const [year, month, day] = localDate.split('-').map(Number) as [number, number, number];
    return new Intl.DateTimeFormat(locale, { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' }).format(
      Date.UTC(year, month - 1, day),
    );
  };

  function giftWords(view: MakeGoodView, locale: string): string {
    const gift = view.gift;
    if (gift.type === 'points') return `${gift.points.toLocaleString(locale)} loyalty points`;
    if (gift.type === 'credit') return `${money(gift.amountMinor, gift.currency, locale)} of credit on their next box`;
    return `${gift.quantity} × ${gift.addonName ?? 'an extra'}, free in their next box`;
  }

  function pickWords(view: MakeGoodView, locale: string): string {
    const { fromOn, toOn, sku } = view.selection;
    const dates = fromOn === toOn ? `shipping on ${shortDate(fromOn, locale)}` : `shipping from ${shortDate(fromOn, locale)} to ${shortDate(toOn, locale)}`;
    return [`boxes ${dates}`, sku ? `with SKU ${sku}` : '', view.planName ? `of the plan ${view.planName}` : ''].filter(Boolean).join(', ');
  }

  async function showForm(req: Request, res: Response, status: number, values: Values, errors: FieldErrors) {
    const { merchantId, currency, loyalty } = await store(res);
    const [plans, addons] = await Promise.all([activePlansOf(merchantId), listAddons(merchantId, { limit: 100, status: 'active' })]);
    res.status(status).render('merchant/make-good/new', {
      title: 'Fulfilment · Make good a mistake',
      values,
      errors,
      currency,
      loyalty,
      plans: plans.map((plan) => ({ id: plan._id, name: plan.name })),
      addons: addons.data.map((addon) => ({ id: addon.id, name: addon.name })),
      errorCount: Object.keys(errors).length,
    });
  }

  router.get(BASE, async (req, res) => {
    const { merchantId, timezone, currency, loyalty } = await store(res);
    const today = localDateOf(deps.clock.now(), timezone);
    const values: Values = {
      attempt: randomBytes(12).toString('base64url'),
      fromOn: addLocalDays(today, -7),
      toOn: today,
      sku: '',
      planId: '',
      kind: loyalty ? 'points' : 'free_addon',
      points: '',
      amount: '',
      currency,
      addonId: '',
      quantity: '1',
      subject: DEFAULT_SUBJECT,
      body: DEFAULT_BODY,
    };
    // "Change": the form again with an earlier make-good's choices (as a new one).
    const from = MakeGoodId.safeParse(req.query.from);
    if (from.success) {
      const view = await getMakeGood(merchantId, from.data).catch(() => undefined);
      if (view) {
        Object.assign(values, {
          fromOn: view.selection.fromOn,
          toOn: view.selection.toOn,
          sku: view.selection.sku ?? '',
          planId: view.selection.planId ?? '',
          kind: view.gift.type,
          points: view.gift.type === 'points' ? String(view.gift.points) : '',
          amount: view.gift.type === 'credit' ? toDecimalString(view.gift.amountMinor, view.gift.currency) : '',
          addonId: view.gift.type === 'free_addon' ? view.gift.addonId : '',
          quantity: view.gift.type === 'free_addon' ? String(view.gift.quantity) : '1',
          subject: view.apology.subject,
          body: view.apology.body,
        });
      }
    }
    await showForm(req, res, 200, values, {});
  });

  router.post(BASE, async (req, res) => {
    const { merchantId } = await store(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const typed: Values = Object.fromEntries(
      ['attempt', 'fromOn', 'toOn', 'sku', 'planId', 'kind', 'points', 'amount', 'currency', 'addonId', 'quantity', 'subject', 'body'].map((name) => [
        name,
        typeof body[name] === 'string' ? body[name].slice(0, 2000) : '',
      ]),
    );
    const form = readForm(MakeGoodForm, req.body);
    if (!form.ok) return showForm(req, res, 400, typed, form.errors);
    const made = makeGoodOf(form.value);
    if (!made.ok) return showForm(req, res, 400, typed, made.errors);
    try {
      const id = await draftMakeGood({ clock: deps.clock, actor: merchantActor(res) }, merchantId, form.value.attempt, made.input);
      res.redirect(303, `${BASE}/${id}`);
    } catch (error) {
      const refused = errorsOf(error);
      if (refused) {
        const placed: FieldErrors = {};
        for (const [field, message] of Object.entries(refused)) {
          const name = field === 'creditMinor' || field === 'currency' ? 'amount' : field;
          const label = { toOn: 'The last ship date', planId: 'The plan', addonId: 'The extra', kind: 'This', amount: 'The currency' }[name] ?? 'This';
          placed[name] = `${label} ${message}`;
        }
        return showForm(req, res, 400, typed, placed);
      }
      if (error instanceof InvalidStateError) return res.redirect(303, `${BASE}/${sentIdFor(merchantId, form.value.attempt)}/report`);
      throw error;
    }
  });

  /** The make-good a form's attempt names (it was sent already). */
  const sentIdFor = (merchantId: string, attempt: string) => derivedId('mkg', `${merchantId}:${attempt}`);

  function idOf(req: Request): string {
    const id = MakeGoodId.safeParse(req.params.id);
    if (!id.success) throw new NotFoundError('No such make-good.');
    return id.data;
  }

  async function showPreview(req: Request, res: Response, status: number, errors: FieldErrors) {
    const { merchantId } = await store(res);
    const locale = localeOf(req);
    const id = idOf(req);
    const view = await getMakeGood(merchantId, id);
    const cursor = BoxCursor.safeParse(req.query.after);
    const after = cursor.success ? { shipOn: cursor.data.split('~')[0]!, id: cursor.data.split('~')[1]! } : undefined;
    const preview = await previewMakeGood(merchantId, id, { limit: PAGE_SIZE, after });
    const last = preview.boxes.at(-1);
    res.status(status).render('merchant/make-good/preview', {
      title: 'Fulfilment · Make good a mistake · Check and send',
      id,
      sent: view.status !== 'draft',
      pick: pickWords(view, locale),
      gift: giftWords(view, locale),
      apology: view.apology,
      boxCount: preview.boxCount,
      subscriptionCount: preview.subscriptionCount,
      tooMany: preview.tooMany,
      max: MAX_AFFECTED_SUBSCRIPTIONS,
      boxes: preview.boxes.map((box) => ({
        id: box._id,
        shipOn: shortDate(box.shipOn, locale),
        status: box.status,
        currency: box.currency,
        subscriber: `/merchant/subscribers/${encodeURIComponent(box.subscriptionId)}`,
      })),
      paged: Boolean(after),
      first: `${BASE}/${id}`,
      next: preview.hasMore && last ? `${BASE}/${id}?after=${encodeURIComponent(`${last.shipOn}~${last._id}`)}` : null,
      change: `${BASE}?from=${id}`,
      errors,
    });
  }

  router.get(`${BASE}/:id`, async (req, res) => showPreview(req, res, 200, {}));

  router.post(`${BASE}/:id/send`, async (req, res) => {
    const { merchantId } = await store(res);
    const id = idOf(req);
    await getMakeGood(merchantId, id); // another store's id: 404 before anything is read
    const form = readForm(SendForm, req.body);
    if (!form.ok) return showPreview(req, res, 400, form.errors);
    try {
      await sendMakeGood({ clock: deps.clock, actor: merchantActor(res) }, merchantId, id);
    } catch (error) {
      if (error instanceof InvalidStateError) return showPreview(req, res, 409, { _form: error.message });
      throw error;
    }
    res.redirect(303, `${BASE}/${id}/report#receipt`);
  });

  router.get(`${BASE}/:id/report`, async (req, res) => {
    const { merchantId, timezone } = await store(res);
    const locale = localeOf(req);
    const id = idOf(req);
    const view = await getMakeGood(merchantId, id);
    const cursor = SubscriptionCursor.safeParse(req.query.after);
    const report = await makeGoodReport(merchantId, id, { limit: PAGE_SIZE, after: cursor.success ? cursor.data : undefined });
    const rows = await Promise.all(
      report.rows.map(async (row) => ({
        subscriber: (await customerName(merchantId, row.customerId)) ?? 'A shopper',
        href: `/merchant/subscribers/${encodeURIComponent(row.subscriptionId)}`,
        boxes: row.orderIds.length,
        outcome: row.outcome,
        label: OUTCOME_WORDS[row.outcome],
        detail:
          row.outcome === 'skipped' && row.reason
            ? REASON_WORDS[row.reason]
            : row.outcome === 'not_yet'
              ? 'A send stopped before this one: send again to give it.'
              : row.givenAt
                ? `${row.outcome === 'given' ? 'Given and e-mailed' : 'Given by an earlier send'}, ${dateTimeIn(row.givenAt, timezone, locale)}`
                : '',
      })),
    );
    res.render('merchant/make-good/report', {
      title: 'Fulfilment · Make good a mistake · What happened',
      id,
      sent: view.status !== 'draft',
      pick: pickWords(view, locale),
      gift: giftWords(view, locale),
      subject: view.apology.subject,
      runs: view.runs,
      counts: view.counts ?? { given: 0, alreadyGiven: 0, skipped: 0 },
      lastRunAt: view.lastRunAt ? dateTimeIn(view.lastRunAt, timezone, locale) : null,
      rows,
      preview: `${BASE}/${id}`,
      next: report.hasMore && report.rows.length > 0 ? `${BASE}/${id}/report?after=${encodeURIComponent(report.rows.at(-1)!.subscriptionId)}` : null,
    });
  });

  return router;
}
