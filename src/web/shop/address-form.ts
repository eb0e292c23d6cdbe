import { z } from 'zod';
import { PostalAddressInput } from '../../customers/customer.schemas';
import type { PostalAddress } from '../../customers/customer.model';
import { COUNTRY_CODES } from '../../shared/countries';

/** An optional line of an address: blank is absent. */
const optionalLine = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((value) => value || undefined);

/**
 * A shipping address's fields as a form sends them (the storefront's subscribe form, the account's address
 * form), with the words a person needs beside each field. Rendered by views/shop/_address-fields.ejs.
 */
const required = (message: string) => z.string({ error: message }).trim().min(1, { error: message });

export const ADDRESS_FIELDS = {
  line1: required('Enter your street and number').pipe(PostalAddressInput.shape.line1),
  line2: optionalLine(200),
  city: required('Enter your city').pipe(PostalAddressInput.shape.city),
  region: optionalLine(100),
  postalCode: required('Enter your postal code').pipe(PostalAddressInput.shape.postalCode),
  country: z.string({ error: 'Choose your country' }).pipe(PostalAddressInput.shape.country),
};

/** The address the fields hold. */
export function addressOf(input: {
  line1: string;
  line2?: string | undefined;
  city: string;
  region?: string | undefined;
  postalCode: string;
  country: string;
}) {
  return {
    line1: input.line1,
    ...(input.line2 ? { line2: input.line2 } : {}),
    city: input.city,
    ...(input.region ? { region: input.region } : {}),
    postalCode: input.postalCode,
    country: input.country,
  };
}

/** The countries a shipping address can be in, named in the shopper's language, in their order. */
export function countries(locale: string): Array<{ code: string; name: string }> {
  const names = new Intl.DisplayNames([locale, 'en'], { type: 'region', fallback: 'code' });
  return COUNTRY_CODES.map((code) => ({ code, name: names.of(code) ?? code })).sort((a, b) => a.name.localeCompare(b.name, locale));
}

/** An address on one line, as a person reads it: "2 New St, Apt 4, 11201 Brooklyn, NY, United States". */
export function addressLine(address: PostalAddress, locale: string): string {
  const country = new Intl.DisplayNames([locale, 'en'], { type: 'region', fallback: 'code' }).of(address.country) ?? address.country;
  return [address.line1, address.line2, `${address.postalCode} ${address.city}`, address.region, country].filter(Boolean).join(', ');
}
