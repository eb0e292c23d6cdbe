import {
  addressKey,
  CODE_ALPHABET,
  holdReasons,
  isReferralCode,
  newReferralCode,
  normalizeEmail,
  normalizeReferralCode,
  selfReferralReason,
  similarEmails,
  type Party,
} from '../../../src/referrals/referral-rules';

const home = { line1: '1 Main St', postalCode: '62701', country: 'US' };

function party(customerId: string, email: string, shippingAddress = home): Party {
  return { customerId, email, shippingAddress };
}

describe('referral codes', () => {
  test('when codes are drawn, then each is 8 characters of the unambiguous alphabet, and they differ', () => {
    const codes = Array.from({ length: 500 }, newReferralCode);
    for (const code of codes) {
      expect(code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
      expect(isReferralCode(code)).toBe(true);
    }
    expect(new Set(codes).size).toBe(codes.length);
    expect(CODE_ALPHABET).not.toMatch(/[01IO]/);
  });

  test('when a code is typed in lower case with spaces or dashes, then it reads as the code', () => {
    expect(normalizeReferralCode(' abcd-efgh ')).toBe('ABCDEFGH');
    expect(isReferralCode(normalizeReferralCode('abcd efgh'))).toBe(true);
    expect(isReferralCode('ABCDEFG0')).toBe(false);
    expect(isReferralCode('ABCDEFG')).toBe(false);
  });
});

describe('normalizeEmail', () => {
  test.each([
    ['Ana@Example.com', 'ana@example.com'],
    ['ana+friends@example.com', 'ana@example.com'],
    ['a.n.a@example.com', 'a.n.a@example.com'],
    ['A.N.A+x@gmail.com', 'ana@gmail.com'],
    ['ana.lopez+ref@GoogleMail.com', 'analopez@gmail.com'],
  ])('when the address is %s, then the mailbox is %s', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });
});

describe('similarEmails', () => {
  test.each([
    ['jane.doe@example.com', 'janedoe2@example.com'],
    ['jane_doe84@example.com', 'jane-doe@example.com'],
    ['johnsmith@example.com', 'jonsmith@example.com'],
    ['john.smith@gmail.com', 'johnsmith1@googlemail.com'],
  ])('when %s and %s, then they look like one person', (a, b) => {
    expect(similarEmails(a, b)).toBe(true);
  });

  test.each([
    ['jane.doe@example.com', 'janedoe2@other.com', 'another domain'],
    ['anna@example.com', 'anne@example.com', 'one edit, but too short to tell'],
    ['johnsmith@example.com', 'maryjones@example.com', 'different names'],
    ['ana+x@example.com', 'ana@example.com', 'the same mailbox (refused, not held)'],
  ])('when %s and %s (%s), then they are not "similar"', (a, b) => {
    expect(similarEmails(a, b)).toBe(false);
  });
});

describe('addressKey', () => {
  test('when two spellings of one address differ in case, punctuation, street words or ZIP+4, then the keys are equal', () => {
    expect(addressKey({ line1: '1 Main Street.', postalCode: '62701-1234', country: 'US' })).toBe(addressKey(home));
    expect(addressKey({ line1: '  1, MAIN st ', postalCode: '62701', country: 'us' })).toBe(addressKey(home));
    expect(addressKey({ line1: '10 Rue D’Été', postalCode: '75 001', country: 'FR' })).toBe(
      addressKey({ line1: '10 rue d ete', postalCode: '75001', country: 'FR' }),
    );
  });

  test('when the number, postal code or country differs, then the keys differ', () => {
    expect(addressKey({ ...home, line1: '2 Main St' })).not.toBe(addressKey(home));
    expect(addressKey({ ...home, postalCode: '62702' })).not.toBe(addressKey(home));
    expect(addressKey({ ...home, country: 'CA' })).not.toBe(addressKey(home));
  });
});

describe('selfReferralReason and holdReasons', () => {
  const referrer = party('cus_a', 'ana.lopez@gmail.com', { line1: '5 Elm Rd', postalCode: '10001', country: 'US' });

  test('when the friend is the same customer or the same mailbox, then it is refused with a reason', () => {
    expect(selfReferralReason(referrer, referrer)).toMatch(/own referral code/);
    expect(selfReferralReason(referrer, party('cus_b', 'AnaLopez+friend@googlemail.com'))).toMatch(/same e-mail/);
    expect(selfReferralReason(referrer, party('cus_b', 'bob@example.com'))).toBeUndefined();
  });

  test('when nothing is alike and the referrer is under the limit, then nothing holds it', () => {
    expect(holdReasons(referrer, party('cus_b', 'bob@example.com'), 9, 10)).toEqual([]);
  });

  test('when the address is shared, the e-mails alike and the limit reached, then each reason is given', () => {
    const friend = party('cus_b', 'ana.lopez2@gmail.com', { line1: '5 Elm Road', postalCode: '10001', country: 'US' });
    expect(holdReasons(referrer, friend, 10, 10)).toEqual(['same_shipping_address', 'referrer_velocity', 'similar_email']);
  });
});
