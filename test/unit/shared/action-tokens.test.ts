import { signActionToken, verifyActionToken } from '../../../src/shared/action-tokens';

describe('action tokens: signed, expiring, single-purpose links', () => {
  const secret = 'test-secret';
  const now = new Date('2026-05-01T10:00:00Z');
  const sign = (overrides: Partial<Parameters<typeof signActionToken>[1]> = {}) =>
    signActionToken(secret, {
      action: 'subscription.skip',
      merchantId: 'mer_1',
      subjectId: 'sub_1',
      data: { cycleKey: '2026-06-01' },
      expiresAt: new Date('2026-05-08T10:00:00Z'),
      ...overrides,
    });

  test('when a token is checked before it expires, then it gives back its action, subject, merchant and data', () => {
    const check = verifyActionToken(secret, sign(), now, 'subscription.skip');
    expect(check).toEqual({
      ok: true,
      claim: expect.objectContaining({ action: 'subscription.skip', merchantId: 'mer_1', subjectId: 'sub_1', data: { cycleKey: '2026-06-01' } }),
    });
  });

  test('when the same link is made twice, then the tokens differ', () => {
    expect(sign()).not.toBe(sign());
  });

  test('when a token is expired, tampered with, signed with another secret, malformed or for another action, then it is refused with the reason', () => {
    const token = sign();
    expect(verifyActionToken(secret, token, new Date('2026-05-08T10:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
    const [payload, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), subjectId: 'sub_2' })).toString('base64url');
    expect(verifyActionToken(secret, `${forged}.${signature}`, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyActionToken('another-secret', token, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyActionToken(secret, 'not-a-token', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyActionToken(secret, `${token}.x`, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyActionToken(secret, token, now, 'subscription.cancel')).toEqual({ ok: false, reason: 'wrong_action' });
  });
});
