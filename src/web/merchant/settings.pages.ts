import { Router, type Response } from 'express';
import { z } from 'zod';
import { getMerchant, updateMerchant } from '../../merchants/merchant.service';
import { UpdateMerchantBody, type MerchantView } from '../../merchants/merchant.schemas';
import { fromDecimalString, isCurrency, toDecimalString } from '../../shared/money';
import type { Clock } from '../../shared/time';
import { errorsOf, readForm, type FieldErrors } from '../forms';
import { reasonWords } from '../shop/cancel.pages';
import { requireMerchant, signedInMerchant } from './merchant-session';

/**
 * The store's settings (`/merchant/settings`): its name, address on the web and look; the subscription rules
 * (cut-off, how far a charge date may move, cancellation reasons, save offers, what happens when payment
 * retries end) and a shipping fee per currency. One form, saved through the API's own `updateMerchant`; a
 * refusal is shown beside its field with what was typed.
 */
const FEE_ROWS = 5;

const text = (max: number) => z.string().trim().max(max);
const wholeNumber = (message: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,3}$/, { error: message })
    .transform(Number);

const SettingsForm = z.strictObject({
  name: text(100).min(1, { error: 'Enter the store’s name' }),
  handle: text(40).min(1, { error: 'Enter the store’s address on the web' }),
  accentColor: text(7),
  logoUrl: text(500),
  cutoffDays: wholeNumber('Enter a number of days'),
  maxChargeDateShiftDays: wholeNumber('Enter a number of days'),
  reasons: text(2000),
  skipNext: z.literal('on').optional(),
  pauseCycles: wholeNumber('Enter a number of boxes'),
  discountPercentOff: wholeNumber('Enter a percentage from 0 to 100'),
  dunningOutcome: z.enum(['cancel', 'pause'], { error: 'Choose what happens' }),
  ...Object.fromEntries(
    Array.from({ length: FEE_ROWS }, (_, i) => [
      [`feeCurrency${i}`, text(3).optional()],
      [`feeAmount${i}`, text(20).optional()],
    ]).flat(),
  ),
}) as unknown as z.ZodType<SettingsFields>;

interface SettingsFields {
  name: string;
  handle: string;
  accentColor: string;
  logoUrl: string;
  cutoffDays: number;
  maxChargeDateShiftDays: number;
  reasons: string;
  skipNext?: 'on';
  pauseCycles: number;
  discountPercentOff: number;
  dunningOutcome: 'cancel' | 'pause';
  [fee: `feeCurrency${number}` | `feeAmount${number}`]: string | undefined;
}

/** Where an API field's refusal shows on the form. */
function fieldOf(path: PropertyKey[]): string {
  const [head, second, third, fourth] = path.map(String);
  if (head === 'brand') return second ?? '_form';
  if (head === 'subscriptionSettings') {
    if (second === 'cancellationReasons') return 'reasons';
    if (second === 'saveOffers') return third ?? '_form';
    if (second === 'shippingFees') return third === undefined ? 'feeCurrency0' : fourth === 'amountMinor' ? `feeAmount${third}` : `feeCurrency${third}`;
    return second ?? '_form';
  }
  return head ?? '_form';
}

export function merchantSettingsPages(deps: { clock: Clock }): Router {
  const router = Router();

  function valuesOf(merchant: MerchantView): Record<string, string> {
    const settings = merchant.subscriptionSettings;
    const fees = Object.fromEntries(
      settings.shippingFees.flatMap((fee, i) => [
        [`feeCurrency${i}`, fee.currency],
        [`feeAmount${i}`, toDecimalString(fee.amountMinor, fee.currency)],
      ]),
    );
    return {
      name: merchant.name,
      handle: merchant.handle ?? '',
      accentColor: merchant.brand.accentColor ?? '',
      logoUrl: merchant.brand.logoUrl ?? '',
      cutoffDays: String(settings.cutoffDays),
      maxChargeDateShiftDays: String(settings.maxChargeDateShiftDays),
      reasons: settings.cancellationReasons.join('\n'),
      skipNext: settings.saveOffers.skipNext ? 'on' : '',
      pauseCycles: String(settings.saveOffers.pauseCycles),
      discountPercentOff: String(settings.saveOffers.discountPercentOff),
      dunningOutcome: settings.dunningOutcome,
      ...fees,
    };
  }

  async function show(res: Response, status: number, values?: Record<string, unknown>, errors: FieldErrors = {}, saved = false) {
    const merchant = await getMerchant(signedInMerchant(res).merchantId);
    res.status(status).render('merchant/settings', {
      title: 'Settings',
      store: { timezone: merchant.timezone, currency: merchant.defaultCurrency, storefront: merchant.handle ? `/shop/${merchant.handle}` : null },
      values: values ?? valuesOf(merchant),
      errors,
      saved,
      feeRows: FEE_ROWS,
      reasonHelp: merchant.subscriptionSettings.cancellationReasons.map((code) => `${code}: “${reasonWords(code)}”`).join('; '),
    });
  }

  router.get('/merchant/settings', requireMerchant, async (req, res) => {
    await show(res, 200, undefined, {}, req.query.saved === '1');
  });

  router.post('/merchant/settings', requireMerchant, async (req, res) => {
    const values = { ...((req.body ?? {}) as Record<string, unknown>) };
    delete values._csrf;
    const form = readForm(SettingsForm, req.body);
    if (!form.ok) return show(res, 400, values, form.errors);
    const v = form.value;
    const errors: FieldErrors = {};
    const shippingFees: Array<{ currency: string; amountMinor: number }> = [];
    for (let i = 0; i < FEE_ROWS; i++) {
      const currency = (v[`feeCurrency${i}`] ?? '').toUpperCase();
      const amount = v[`feeAmount${i}`] ?? '';
      if (!currency && !amount) continue;
      if (!isCurrency(currency)) errors[`feeCurrency${i}`] = 'Enter a currency code such as USD';
      else {
        const amountMinor = fromDecimalString(amount, currency);
        if (amountMinor === undefined) errors[`feeAmount${i}`] = `Enter an amount such as ${toDecimalString(500, currency)}`;
        else shippingFees.push({ currency, amountMinor });
      }
    }
    if (Object.keys(errors).length > 0) return show(res, 400, values, errors);
    const body = UpdateMerchantBody.safeParse({
      name: v.name,
      handle: v.handle,
      brand: { accentColor: v.accentColor || null, logoUrl: v.logoUrl || null },
      subscriptionSettings: {
        cutoffDays: v.cutoffDays,
        maxChargeDateShiftDays: v.maxChargeDateShiftDays,
        cancellationReasons: v.reasons
          .split(/\r?\n/)
          .map((line) => line.trim())
          .filter(Boolean),
        saveOffers: { skipNext: v.skipNext === 'on', pauseCycles: v.pauseCycles, discountPercentOff: v.discountPercentOff },
        dunningOutcome: v.dunningOutcome,
        shippingFees,
      },
    });
    if (!body.success) {
      for (const issue of body.error.issues) errors[fieldOf(issue.path)] ??= issue.message;
      return show(res, 400, values, errors);
    }
    try {
      await updateMerchant(deps.clock, signedInMerchant(res).merchantId, body.data);
    } catch (error) {
      const fields = errorsOf(error);
      if (fields) {
        for (const [path, message] of Object.entries(fields)) errors[fieldOf(path.split('.'))] ??= message;
        return show(res, 400, values, errors);
      }
      throw error;
    }
    res.redirect(303, '/merchant/settings?saved=1');
  });

  return router;
}
