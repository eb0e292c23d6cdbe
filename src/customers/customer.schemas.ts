import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { CountryCode, Email, Instant, Timezone } from '../shared/schemas';

export const PostalAddressInput = z.strictObject({
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).optional(),
  city: z.string().trim().min(1).max(100),
  region: z.string().trim().max(100).optional(),
  postalCode: z.string().trim().min(1).max(20),
  country: CountryCode,
});

/** An address as stored: the country is shown as it was accepted (older data may carry codes refused today). */
export const PostalAddressView = PostalAddressInput.extend({ country: z.string().describe('ISO 3166-1 alpha-2 country code, upper case') });

const Birthday = z
  .string()
  .regex(/^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, { error: 'must be MM-DD or YYYY-MM-DD' })
  .refine(
    (value) => {
      const [year, month, day] = value.length === 5 ? [2000, ...value.split('-').map(Number)] : value.split('-').map(Number);
      const date = new Date(Date.UTC(year!, month! - 1, day));
      return date.getUTCMonth() === month! - 1 && date.getUTCDate() === day;
    },
    { error: 'is not a real date' },
  );

/** Whether `tag` is a well-formed BCP 47 language tag the platform can format money and dates for. */
export function isSupportedLocale(tag: string): boolean {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return (
      canonical !== undefined && Intl.DateTimeFormat.supportedLocalesOf(canonical).length === 1 && Intl.NumberFormat.supportedLocalesOf(canonical).length === 1
    );
  } catch {
    return false;
  }
}

/** A BCP 47 language tag (`en-US`, `de-DE`, `ja-JP`), stored in its canonical spelling. */
export const Locale = z
  .string()
  .max(35)
  .refine(isSupportedLocale, { error: 'must be a BCP 47 language tag the platform knows, e.g. en-US, de-DE, ja-JP' })
  .transform((tag) => Intl.getCanonicalLocales(tag)[0]!)
  .describe('BCP 47 language tag: how money and dates read in messages (e.g. de-DE)');

export const CreateCustomerBody = z
  .strictObject({
    email: Email,
    name: z.string().trim().min(1).max(200),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/, { error: 'must be in E.164 form, e.g. +15551234567' })
      .optional(),
    shippingAddress: PostalAddressInput,
    birthday: Birthday.optional(),
    locale: Locale.optional(),
    timezone: Timezone.optional(),
    marketingConsent: z.boolean().default(false),
  })
  .meta({ id: 'CreateCustomerRequest' });
export type CreateCustomerBody = z.infer<typeof CreateCustomerBody>;

export const UpdateCustomerBody = z
  .strictObject({
    email: Email.optional(),
    name: z.string().trim().min(1).max(200).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$/)
      .nullable()
      .optional(),
    shippingAddress: PostalAddressInput.optional(),
    birthday: Birthday.nullable().optional(),
    locale: Locale.nullable().optional(),
    timezone: Timezone.nullable().optional(),
    marketingConsent: z.boolean().optional(),
  })
  .meta({ id: 'UpdateCustomerRequest' });
export type UpdateCustomerBody = z.infer<typeof UpdateCustomerBody>;

export const CustomerParams = z.strictObject({ id: z.string().max(100) });
export const ListCustomersQuery = z.strictObject({ ...ListQuery, email: Email.optional() });

export const CustomerView = z
  .strictObject({
    id: z.string(),
    object: z.literal('customer'),
    email: z.string(),
    name: z.string(),
    phone: z.string().nullable(),
    shippingAddress: PostalAddressView,
    birthday: z.string().nullable(),
    locale: z.string().nullable().describe("The shopper's language tag for messages; null: the merchant's"),
    timezone: z.string().nullable().describe("The shopper's IANA time zone for messages; null: the merchant's"),
    card: z
      .strictObject({ brand: z.string(), last4: z.string(), expMonth: z.number().int(), expYear: z.number().int() })
      .nullable()
      .describe('The card Stripe last told us the shopper pays with (never the number)'),
    marketingConsent: z.strictObject({ granted: z.boolean(), changedAt: Instant }),
    stripeCustomerId: z.string().nullable(),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Customer' });
export type CustomerView = z.infer<typeof CustomerView>;

export const CustomerList = listSchema(CustomerView, 'CustomerList');
