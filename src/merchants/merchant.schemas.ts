import { z } from 'zod';
import { contrastWithWhite, Handle } from './merchant-handles';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordWeakness } from '../shared/password-policy';
import { Currency, Email, Instant, Timezone, prefixedId } from '../shared/schemas';
import { MAX_SHIPPING_FEE_UNITS, maxShippingFeeMinor } from './shipping-fees';

export const SignUpBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    email: Email,
    password: z
      .string()
      .min(PASSWORD_MIN_LENGTH, { error: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
      .max(PASSWORD_MAX_LENGTH, { error: `must be at most ${PASSWORD_MAX_LENGTH} characters` })
      .describe(
        `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, any you like (a few unrelated words work well). Refused: common and leaked passwords, repetitions and sequences (aaaa, 12345, qwerty), and passwords containing the e-mail address or the store's name.`,
      ),
    defaultCurrency: Currency,
    timezone: Timezone,
  })
  .superRefine((input, ctx) => {
    const weakness = passwordWeakness(input.password, { email: input.email, names: [input.name] });
    if (weakness) ctx.addIssue({ code: 'custom', path: ['password'], message: weakness });
  })
  .meta({ id: 'SignUpRequest' });
export type SignUpBody = z.infer<typeof SignUpBody>;

export const SignUpAccepted = z
  .strictObject({
    object: z.literal('merchant_sign_up'),
    email: z.string(),
    detail: z.string().describe('What happens next, in words'),
  })
  .meta({ id: 'SignUpAccepted' });
export type SignUpAccepted = z.infer<typeof SignUpAccepted>;

export const ConfirmSignUpBody = z
  .strictObject({
    token: z
      .string()
      .regex(/^bxc_[A-Za-z0-9]{32}$/, { error: 'must be the confirmation token from the message (bxc_ and 32 letters and digits)' })
      .describe('The confirmation token from the message sent to the address'),
  })
  .meta({ id: 'ConfirmSignUpRequest' });
export type ConfirmSignUpBody = z.infer<typeof ConfirmSignUpBody>;

export const LogInBody = z.strictObject({ email: Email, password: z.string().min(1).max(256) }).meta({ id: 'LogInRequest' });
export type LogInBody = z.infer<typeof LogInBody>;

const ShippingFeeInput = z
  .strictObject({
    currency: Currency,
    amountMinor: z
      .number()
      .int({ error: 'must be a whole number of minor units' })
      .min(0)
      // The per-currency limit below is the real one; this bound is what any currency can hold (1,000,000 units of a 3-decimal currency).
      .max(1_000_000_000)
      .describe(
        `In the currency's minor units (500 USD = $5.00, 500 JPY = ¥500, 500 KWD = 0.500 KD); at most ${MAX_SHIPPING_FEE_UNITS.toLocaleString('en')} whole units of it; 0: shipping included`,
      ),
  })
  .superRefine((fee, ctx) => {
    const max = maxShippingFeeMinor(fee.currency);
    if (fee.amountMinor > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['amountMinor'],
        message: `must be at most ${max} (${MAX_SHIPPING_FEE_UNITS.toLocaleString('en')} ${fee.currency})`,
      });
    }
  });

/** What a list of fees means, for the schema and the reader. */
const SHIPPING_FEES_RULE =
  "Shipping charged on each box at its cut-off, in the box's currency: the fee listed for that currency. A box in a currency not listed is charged no shipping (list it with 0 to say so explicitly); a fee is never converted from another currency. Each currency once; the list replaces the one before ([] charges none). A free-shipping perk waives the fee.";

const ShippingFeesInput = z
  .array(ShippingFeeInput)
  .max(50)
  .superRefine((fees, ctx) => {
    const seen = new Set<string>();
    fees.forEach((fee, index) => {
      if (seen.has(fee.currency)) ctx.addIssue({ code: 'custom', path: [index, 'currency'], message: `${fee.currency} has a fee already: each currency once` });
      seen.add(fee.currency);
    });
  })
  .describe(SHIPPING_FEES_RULE);

const ReasonCode = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, { error: 'reason codes are lower_snake_case words' });

export const SubscriptionSettingsInput = z.strictObject({
  cutoffDays: z
    .number()
    .int()
    .min(1)
    .max(14)
    .optional()
    .describe(
      'Days before a charge that its box locks and is built with its stock reserved (new subscriptions); at least 1, so the box and its add-ons are on the invoice before Stripe creates it',
    ),
  maxChargeDateShiftDays: z.number().int().min(0).max(60).optional(),
  cancellationReasons: z
    .array(ReasonCode)
    .min(1)
    .max(20)
    .refine((codes) => new Set(codes).size === codes.length, { error: 'each reason once' })
    .optional(),
  dunningOutcome: z.enum(['cancel', 'pause']).optional().describe("When Stripe's payment retries end unpaid"),
  shippingFees: ShippingFeesInput.optional(),
  saveOffers: z
    .strictObject({
      skipNext: z.boolean().optional(),
      pauseCycles: z.number().int().min(0).max(6).optional(),
      discountPercentOff: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
});

/** The store's look on the storefront, the shopper's pages and the e-mails. `null` clears a value. */
const BrandInput = z.strictObject({
  accentColor: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^#[0-9a-f]{6}$/, { error: 'must be a colour like #1e5bb0' })
    .refine((colour) => contrastWithWhite(colour) >= 4.5, {
      error: 'is too light for white text on it: choose a darker colour (contrast of at least 4.5 to 1)',
    })
    .nullable()
    .optional()
    .describe('The store’s colour (buttons, header): #rrggbb. Text on it is white, so it must be dark enough (contrast at least 4.5:1).'),
  logoUrl: z
    .url({ protocol: /^https$/, error: 'must be an https:// address of an image' })
    .max(500)
    .nullable()
    .optional()
    .describe('An https:// address of the store’s logo (shown at most 48 px high)'),
});

export const UpdateMerchantBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    handle: Handle.optional(),
    brand: BrandInput.optional(),
    subscriptionSettings: SubscriptionSettingsInput.optional(),
  })
  .meta({ id: 'UpdateMerchantRequest' });
export type UpdateMerchantBody = z.infer<typeof UpdateMerchantBody>;

export const MerchantView = z
  .strictObject({
    id: prefixedId('mer'),
    object: z.literal('merchant'),
    name: z.string(),
    email: z.string(),
    handle: z.string().nullable().describe('The storefront is at /shop/<handle>'),
    brand: z.strictObject({ accentColor: z.string().nullable(), logoUrl: z.string().nullable() }),
    defaultCurrency: z.string(),
    timezone: z.string(),
    subscriptionSettings: z.strictObject({
      cutoffDays: z.number().int(),
      maxChargeDateShiftDays: z.number().int(),
      cancellationReasons: z.array(z.string()),
      saveOffers: z.strictObject({ skipNext: z.boolean(), pauseCycles: z.number().int(), discountPercentOff: z.number().int() }),
      dunningOutcome: z.enum(['cancel', 'pause']),
      shippingFees: z.array(z.strictObject({ currency: z.string(), amountMinor: z.number().int() })).describe(SHIPPING_FEES_RULE),
    }),
    createdAt: Instant,
  })
  .meta({ id: 'Merchant' });
export type MerchantView = z.infer<typeof MerchantView>;

export const ApiKeyView = z
  .strictObject({
    id: prefixedId('key'),
    object: z.literal('api_key'),
    kind: z.enum(['secret', 'session', 'shopper']),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to tell keys apart'),
    createdAt: Instant,
    expiresAt: Instant.nullable(),
    revokedAt: Instant.nullable(),
    lastUsedAt: Instant.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyView = z.infer<typeof ApiKeyView>;

export const NewApiKeyView = ApiKeyView.extend({
  secret: z.string().nullable().describe('The key itself: shown once, never stored. Null in a replay of the request (Idempotency-Key).'),
}).meta({ id: 'NewApiKey' });
export type NewApiKeyView = z.infer<typeof NewApiKeyView>;

export const SignUpResponse = z.strictObject({ merchant: MerchantView, apiKey: NewApiKeyView }).meta({ id: 'SignUpResponse' });

export const CreateApiKeyBody = z.strictObject({ name: z.string().trim().min(1).max(100) }).meta({ id: 'CreateApiKeyRequest' });
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKeyList = z.strictObject({ object: z.literal('list'), data: z.array(ApiKeyView) }).meta({ id: 'ApiKeyList' });

export const ApiKeyParams = z.strictObject({ id: z.string() });

export const ShopperSessionView = z
  .strictObject({
    id: prefixedId('key'),
    object: z.literal('shopper_session'),
    customerId: z.string(),
    prefix: z.string().describe('The first characters of the token, to tell sessions apart'),
    createdAt: Instant,
    expiresAt: Instant,
    revokedAt: Instant.nullable(),
    lastUsedAt: Instant.nullable(),
  })
  .meta({ id: 'ShopperSession' });
export type ShopperSessionView = z.infer<typeof ShopperSessionView>;

export const NewShopperSessionView = ShopperSessionView.extend({
  token: z.string().describe('Shown once: send as `Authorization: Bearer <token>` to the /shopper operations'),
}).meta({ id: 'NewShopperSession' });
export type NewShopperSessionView = z.infer<typeof NewShopperSessionView>;

export const ShopperSessionList = z.strictObject({ object: z.literal('list'), data: z.array(ShopperSessionView) }).meta({ id: 'ShopperSessionList' });

export const ShopperSessionParams = z.strictObject({ id: z.string().max(100), sessionId: z.string().max(100) });
