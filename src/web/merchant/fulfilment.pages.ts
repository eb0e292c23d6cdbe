import express, { Router, type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { merchantProfile } from '../../merchants/merchant.queries';
import { forecastForPage, requestForecastRefresh } from '../../orders/fulfilment-forecast.service';
import { boxesNeedingAttention, type BoxState } from '../../orders/order.queries';
import { PickListQuery } from '../../orders/order.schemas';
import { buildPickList, pickListCsv, pickListOrders, pickListTotals } from '../../orders/pick-list.service';
import { addLocalDays, localDateOf } from '../../shared/calendar';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../shared/errors';
import { LocalDate } from '../../shared/schemas';
import type { Clock } from '../../shared/time';
import { readForm, firstPageOnBadCursor, type FieldErrors } from '../forms';
import { dateTimeIn } from '../shop/portal-format';
import { localeOf } from '../shop/shop-view';
import { applyBulkMove, MAX_BULK_ROWS, readOrderIds, readShipRows, tally, type RowReport } from './bulk-fulfilment';
import { merchantActor, requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The merchant's fulfilment (`/merchant/fulfilment`), on the same services as the API's orders routes:
 * the coming days against stock, the pick list of a ship date (screen and the API's CSV), packing ticked
 * boxes, shipping from pasted CSV rows with tracking, deliveries, and the boxes held or short of stock.
 * Bulk moves answer with a report of every row (reloading it re-sends the rows, which changes nothing more).
 */
export interface FulfilmentPageDeps {
  clock: Clock;
}

const BASE = '/merchant/fulfilment';

/** The largest pasted text or uploaded CSV file: 2,000 rows with long tracking URLs fit. */
const MAX_ROWS_BYTES = 1_000_000;

const shipUpload = multer({
  storage: multer.memoryStorage(),
  limits: { files: 1, fileSize: MAX_ROWS_BYTES, fields: 5, fieldSize: MAX_ROWS_BYTES, parts: 6 },
}).single('file');

/**
 * Bulk forms are larger than other pages' (500 rows of tracking with URLs, 2,000 ticked boxes), and the ship
 * form uploads a CSV file (multipart): this route's own body parsers and limits, mounted before the pages'
 * general parser (which then leaves the parsed body alone) and before the CSRF check (which reads the token
 * from the parsed fields, multipart ones included). An upload over the limits is a 413, a malformed one a 400.
 */
export const fulfilmentFormBodies = Router();
fulfilmentFormBodies.use(express.urlencoded({ extended: false, limit: '1mb', parameterLimit: MAX_BULK_ROWS + 10 }));
fulfilmentFormBodies.post('/ship', (req: Request, res: Response, next: NextFunction) => {
  if (!req.is('multipart/form-data')) return next();
  shipUpload(req, res, (error: unknown) => {
    if (!error) return next();
    if (error instanceof multer.MulterError && /LIMIT_(FILE|FIELD|PART)/.test(error.code)) {
      return next(new PayloadTooLargeError('The file is too large: send at most 2,000 rows (1 MB) at a time.'));
    }
    next(new ValidationError([{ field: 'body.file', message: 'The upload could not be read: choose the CSV file again.' }]));
  });
});

/** A list shown at most this long (the newest first); the rest say how to narrow it. */
const LIST_LIMIT = 200;
/** Boxes shown per page of a pick list. */
const PICK_LIST_PAGE = 100;
/** A pick list page starts after the box its cursor names (a cursor of ours: base64url, short). */
const PAGE_CURSOR = /^[A-Za-z0-9_-]{1,120}$/;

const OrderIds = z
  .union([z.string().max(100), z.array(z.string().max(100)).max(MAX_BULK_ROWS, { error: `Tick at most ${MAX_BULK_ROWS} boxes at a time` })])
  .optional()
  .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));

const Confirm = z.literal('yes', { error: 'Tick this box to confirm: the shoppers are told, and it cannot be undone' });

const PackForm = z.strictObject({
  orderId: OrderIds.refine((ids) => ids.length > 0, { error: 'Tick the boxes to mark packed' }),
  shipOn: LocalDate.optional(),
});

const rowCount = (text: string) => text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '').length;
const Rows = z
  .string()
  .max(1_000_000, { error: 'This is too long: send at most 2,000 rows at a time' })
  .refine((text) => rowCount(text) <= MAX_BULK_ROWS + 1, { error: `Send at most ${MAX_BULK_ROWS} rows at a time: split the file` });

const ShipForm = z.strictObject({ rows: Rows.optional().default(''), confirm: Confirm });

/** The uploaded CSV file's text (UTF-8, a byte-order mark dropped), when one was chosen. */
function uploadedText(req: Request): string | undefined {
  const file = (req as Request & { file?: { buffer: Buffer; size: number } }).file;
  if (!file || file.size === 0) return undefined;
  return file.buffer.toString('utf8').replace(/^\uFEFF/, '');
}

const DeliverForm = z
  .strictObject({ orderId: OrderIds, rows: Rows.optional().default(''), confirm: Confirm })
  .refine((form) => form.orderId.length > 0 || form.rows.trim() !== '', { error: 'Tick the delivered boxes or paste their order ids', path: ['rows'] });

function shortDate(localDate: string, locale: string): string {
  const [year, month, day] = localDate.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(Date.UTC(year, month - 1, day));
}

const OUTCOME_WORDS: Record<RowReport['outcome'], string> = {
  done: 'Done',
  already: 'Already done',
  not_found: 'Not found',
  not_ready: 'Not possible',
  bad_row: 'Bad row',
  duplicate: 'Duplicate',
};

const subscriberLink = (subscriptionId: string) => `/merchant/subscribers/${encodeURIComponent(subscriptionId)}`;

function boxRow(box: BoxState, locale: string, timezone: string) {
  const a = box.shippingAddress;
  return {
    id: box._id,
    shipOn: shortDate(box.shipOn, locale),
    status: box.status,
    subscriber: subscriberLink(box.subscriptionId),
    subscriptionId: box.subscriptionId,
    address: [a.line1, a.city, a.country].filter(Boolean).join(', '),
    contents: box.lines
      .filter((line) => line.kind !== 'discount' && line.sku)
      .map((line) => `${line.quantity} × ${line.sku}${line.stock === 'short' ? ' (short)' : ''}`)
      .join(', '),
    shipped: box.shipment ? `${box.shipment.carrier} ${box.shipment.trackingNumber}, ${dateTimeIn(box.shipment.shippedAt, timezone, locale)}` : null,
  };
}

export function fulfilmentPages(deps: FulfilmentPageDeps): Router {
  const router = Router();
  router.use(BASE, requireMerchant);

  async function store(res: Response) {
    const merchant = signedInMerchant(res);
    const profile = await merchantProfile(merchant.merchantId);
    if (!profile) throw new NotFoundError('No such store.');
    return { merchantId: merchant.merchantId, timezone: profile.timezone };
  }

  const tabs = (current: string) =>
    [
      { href: BASE, label: 'Coming days' },
      { href: `${BASE}/pick-list`, label: 'Pick list' },
      { href: `${BASE}/ship`, label: 'Ship' },
      { href: `${BASE}/deliveries`, label: 'Deliveries' },
      { href: `${BASE}/attention`, label: 'Held and out of stock' },
    ].map((tab) => ({ ...tab, current: tab.href === current }));

  // The stored forecast (one document, and the stock of its SKUs now), as of when it was computed; none yet or
  // from an earlier day: a refresh is asked for, and the page says so rather than show figures it does not have.
  router.get(BASE, async (req, res) => {
    const { merchantId, timezone } = await store(res);
    const locale = localeOf(req);
    const forecast = await forecastForPage(deps.clock, merchantId, timezone);
    const coming = forecast.state === 'stored' ? forecast.coming : null;
    res.render('merchant/fulfilment/coming-days', {
      title: 'Fulfilment · Coming days',
      tabs: tabs(BASE),
      receipt: req.query.refresh === 'asked' ? 'A new forecast is being computed: reload this page in a minute.' : null,
      forecast: forecast.state === 'stored' && {
        asOf: dateTimeIn(forecast.computedAt, timezone, locale),
        staleSince: forecast.staleSince && dateTimeIn(forecast.staleSince, timezone, locale),
        outOfDate: forecast.outOfDate,
      },
      from: coming && shortDate(coming.fromOn, locale),
      to: coming && shortDate(coming.toOn, locale),
      days: (coming?.days ?? []).map((day) => ({
        ...day,
        date: shortDate(day.shipOn, locale),
        pickList: `${BASE}/pick-list?shipOn=${day.shipOn}`,
        paid: day.built.paid + day.built.packed,
      })),
      skus: coming?.skus ?? [],
      shortCount: (coming?.skus ?? []).filter((sku) => sku.short > 0).length,
    });
  });

  // "Refresh now": the forecast's refresh is due now (the worker runs it within half a minute); idempotent.
  router.post(`${BASE}/refresh`, async (_req, res) => {
    const { merchantId } = await store(res);
    await requestForecastRefresh(deps.clock, merchantId);
    res.redirect(303, `${BASE}?refresh=asked#receipt`);
  });

  /** The ship date asked for, today by default; a date that is not one is said beside the field. */
  function shipOnOf(req: Request, timezone: string): { shipOn: string; typed: string; errors: FieldErrors } {
    const today = localDateOf(deps.clock.now(), timezone);
    const typed = typeof req.query.shipOn === 'string' ? req.query.shipOn : undefined;
    if (typed === undefined) return { shipOn: today, typed: today, errors: {} };
    const parsed = LocalDate.safeParse(typed);
    return parsed.success
      ? { shipOn: parsed.data, typed, errors: {} }
      : { shipOn: today, typed: typed.slice(0, 40), errors: { shipOn: 'Enter a date as YYYY-MM-DD' } };
  }

  router.get(`${BASE}/pick-list`, async (req, res) => {
    const { merchantId, timezone } = await store(res);
    const locale = localeOf(req);
    const { shipOn, typed, errors } = shipOnOf(req, timezone);
    const bad = Object.keys(errors).length > 0;
    const after = typeof req.query.after === 'string' && PAGE_CURSOR.test(req.query.after) ? req.query.after : undefined;
    const boxes = () => firstPageOnBadCursor((from) => pickListOrders(merchantId, shipOn, { limit: PICK_LIST_PAGE, after: from }), after);
    const [totals, page] = bad ? [null, null] : await Promise.all([pickListTotals(merchantId, shipOn), boxes()]);
    const pickList = totals && page ? { ...totals, orders: page.orders } : null;
    res.status(bad ? 400 : 200).render('merchant/fulfilment/pick-list', {
      title: `Fulfilment · Pick list`,
      tabs: tabs(`${BASE}/pick-list`),
      typed,
      errors,
      date: bad ? null : shortDate(shipOn, locale),
      previous: `${BASE}/pick-list?shipOn=${addLocalDays(shipOn, -1)}`,
      next: `${BASE}/pick-list?shipOn=${addLocalDays(shipOn, 1)}`,
      shipOn,
      csv: { lines: `${BASE}/pick-list.csv?shipOn=${shipOn}&part=lines`, totals: `${BASE}/pick-list.csv?shipOn=${shipOn}&part=totals` },
      // The boxes a page at a time (a ship date of a big store has thousands); the totals and the CSV cover them all.
      more: page?.nextAfter ? `${BASE}/pick-list?shipOn=${shipOn}&after=${page.nextAfter}` : null,
      firstPage: after ? `${BASE}/pick-list?shipOn=${shipOn}` : null,
      pageSize: PICK_LIST_PAGE,
      pickList: pickList && {
        orderCount: pickList.orderCount,
        skus: pickList.skus,
        orders: pickList.orders.map((order) => ({
          id: order.orderId,
          status: order.status,
          subscriber: subscriberLink(order.subscriptionId),
          address: [
            order.shippingAddress.line1,
            order.shippingAddress.line2,
            order.shippingAddress.city,
            order.shippingAddress.postalCode,
            order.shippingAddress.country,
          ]
            .filter(Boolean)
            .join(', '),
          lines: order.lines.map((line) => `${line.quantity} × ${line.sku} ${line.description}${line.stock === 'short' ? ' (short of stock)' : ''}`),
        })),
      },
    });
  });

  // The same CSV as the API's `GET /pick-list?format=csv`, from the same service.
  router.get(`${BASE}/pick-list.csv`, async (req, res) => {
    const { merchantId } = await store(res);
    const query = PickListQuery.safeParse({ ...req.query, format: 'csv' });
    if (!query.success) throw new ValidationError(query.error.issues.map((issue) => ({ field: `query.${issue.path.join('.')}`, message: issue.message })));
    const pickList = await buildPickList(merchantId, query.data.shipOn);
    res
      .status(200)
      .set('content-type', 'text/csv; charset=utf-8')
      .set('content-disposition', `attachment; filename="pick-list-${query.data.shipOn}-${query.data.part}.csv"`)
      .send(pickListCsv(pickList, query.data.part));
  });

  function showReport(req: Request, res: Response, what: 'packed' | 'shipped' | 'delivered', reports: RowReport[], back: string) {
    const counts = tally(reports);
    res.render('merchant/fulfilment/report', {
      title: `Fulfilment · ${what[0]!.toUpperCase()}${what.slice(1)}`,
      tabs: tabs(''),
      what,
      back,
      counts,
      total: reports.length,
      rows: reports.map((row) => ({ ...row, line: row.line || 'ticked', label: OUTCOME_WORDS[row.outcome] })),
    });
  }

  router.post(`${BASE}/pack`, async (req, res) => {
    const { merchantId } = await store(res);
    const form = readForm(PackForm, req.body);
    const shipOn =
      typeof (req.body as Record<string, unknown>).shipOn === 'string' ? LocalDate.safeParse((req.body as Record<string, string>).shipOn) : undefined;
    const back = `${BASE}/pick-list${shipOn?.success ? `?shipOn=${shipOn.data}` : ''}`;
    if (!form.ok) {
      res.status(400).render('merchant/fulfilment/refused', { title: 'Fulfilment · Pack', tabs: tabs(''), errors: form.errors, back });
      return;
    }
    const rows = readOrderIds('', form.value.orderId);
    const reports = await applyBulkMove({ clock: deps.clock, actor: merchantActor(res) }, merchantId, 'packed', rows);
    showReport(req, res, 'packed', reports, back);
  });

  router.get(`${BASE}/ship`, async (_req, res) => {
    await store(res);
    res.render('merchant/fulfilment/ship', { title: 'Fulfilment · Ship', tabs: tabs(`${BASE}/ship`), values: { rows: '', confirm: false }, errors: {} });
  });

  router.post(`${BASE}/ship`, async (req, res) => {
    const { merchantId } = await store(res);
    const form = readForm(ShipForm, req.body);
    const file = uploadedText(req);
    const errors: FieldErrors = form.ok ? {} : { ...form.errors };
    const pasted = form.ok ? form.value.rows : '';
    if (form.ok && file === undefined && pasted.trim() === '')
      errors.rows = 'Paste at least one row (order id, carrier, tracking number), or choose a CSV file';
    if (file !== undefined && pasted.trim() !== '') errors.rows = 'Paste rows or choose a file, not both';
    if (file !== undefined && rowCount(file) > MAX_BULK_ROWS + 1) errors.file = `Send at most ${MAX_BULK_ROWS} rows at a time: split the file`;
    if (!form.ok || Object.keys(errors).length > 0) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      res.status(400).render('merchant/fulfilment/ship', {
        title: 'Fulfilment · Ship',
        tabs: tabs(`${BASE}/ship`),
        values: { rows: typeof body.rows === 'string' ? body.rows.slice(0, MAX_ROWS_BYTES) : '', confirm: body.confirm === 'yes' },
        errors,
      });
      return;
    }
    const reports = await applyBulkMove({ clock: deps.clock, actor: merchantActor(res) }, merchantId, 'shipped', readShipRows(file ?? pasted));
    showReport(req, res, 'shipped', reports, `${BASE}/ship`);
  });

  async function showDeliveries(req: Request, res: Response, status = 200, values = { rows: '', confirm: false }, errors: FieldErrors = {}) {
    const { merchantId, timezone } = await store(res);
    const locale = localeOf(req);
    const shipped = await boxesNeedingAttention(merchantId, 'shipped', LIST_LIMIT);
    res.status(status).render('merchant/fulfilment/deliveries', {
      title: 'Fulfilment · Deliveries',
      tabs: tabs(`${BASE}/deliveries`),
      boxes: shipped.map((box) => boxRow(box, locale, timezone)),
      more: shipped.length === LIST_LIMIT,
      limit: LIST_LIMIT,
      values,
      errors,
    });
  }

  router.get(`${BASE}/deliveries`, async (req, res) => showDeliveries(req, res));

  router.post(`${BASE}/deliveries`, async (req, res) => {
    const { merchantId } = await store(res);
    const form = readForm(DeliverForm, req.body);
    if (!form.ok) {
      const body = req.body as Record<string, unknown>;
      await showDeliveries(
        req,
        res,
        400,
        { rows: typeof body.rows === 'string' ? body.rows.slice(0, 1_000_000) : '', confirm: body.confirm === 'yes' },
        form.errors,
      );
      return;
    }
    const rows = readOrderIds(form.value.rows, form.value.orderId);
    const reports = await applyBulkMove({ clock: deps.clock, actor: merchantActor(res) }, merchantId, 'delivered', rows);
    showReport(req, res, 'delivered', reports, `${BASE}/deliveries`);
  });

  router.get(`${BASE}/attention`, async (req, res) => {
    const { merchantId, timezone } = await store(res);
    const locale = localeOf(req);
    const [held, backOrdered, outOfStock] = await Promise.all(
      (['held', 'back_ordered', 'out_of_stock'] as const).map((kind) => boxesNeedingAttention(merchantId, kind, LIST_LIMIT)),
    );
    const section = (boxes: BoxState[]) => ({ boxes: boxes.map((box) => boxRow(box, locale, timezone)), more: boxes.length === LIST_LIMIT });
    res.render('merchant/fulfilment/attention', {
      title: 'Fulfilment · Held and out of stock',
      tabs: tabs(`${BASE}/attention`),
      limit: LIST_LIMIT,
      held: section(held!),
      backOrdered: section(backOrdered!),
      outOfStock: section(outOfStock!),
    });
  });

  return router;
}
