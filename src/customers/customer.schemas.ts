import { z } from 'zod';
import { ListQuery, listSchema } from '../shared/pagination';
import { CountryCode, Email, Instant } from '../shared/schemas';

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
    marketingConsent: z.strictObject({ granted: z.boolean(), changedAt: Instant }),
    stripeCustomerId: z.string().nullable(),
    createdAt: Instant,
    updatedAt: Instant,
  })
  .meta({ id: 'Customer' });
export type CustomerView = z.infer<typeof CustomerView>;

export const CustomerList = listSchema(CustomerView, 'CustomerList');
