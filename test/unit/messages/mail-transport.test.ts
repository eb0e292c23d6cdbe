import { classifySendError, describeSmtpUrl, providerMessageIdOf } from '../../../src/messages/mail-transport';

describe('reading SMTP failures', () => {
  const smtp = (responseCode: number | undefined, command: string, response = `${responseCode} reply`) =>
    Object.assign(new Error(`failed: ${response}`), { code: 'EENVELOPE', responseCode, command, response });

  test.each([
    ['a 550 to RCPT TO (no such mailbox)', smtp(550, 'RCPT TO'), { kind: 'permanent', responseCode: 550, recipientRefused: true }],
    ['a 554 after DATA (refused as spam)', smtp(554, 'DATA'), { kind: 'permanent', responseCode: 554, recipientRefused: false }],
    ['a 552 after DATA (too large)', smtp(552, 'DATA'), { kind: 'permanent', responseCode: 552, recipientRefused: false }],
    ['a 451 to RCPT TO (greylisting)', smtp(451, 'RCPT TO'), { kind: 'transient', responseCode: 451 }],
    ['a 421 after DATA (server busy)', smtp(421, 'DATA'), { kind: 'transient', responseCode: 421 }],
    ['a 535 to AUTH (our credentials)', smtp(535, 'AUTH PLAIN'), { kind: 'transient', responseCode: 535 }],
    ['a 553 to MAIL FROM (our sender)', smtp(553, 'MAIL FROM'), { kind: 'transient', responseCode: 553 }],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET', command: 'CONN' }), { kind: 'transient' }],
    ['a timeout', Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }), { kind: 'transient' }],
    ['something that is not an error', 'boom', { kind: 'transient', detail: 'boom' }],
  ])('when the send fails with %s, then it is %j', (_what, error, expected) => {
    expect(classifySendError(error)).toMatchObject(expected);
  });

  test('when the server said why, then its reply is the detail', () => {
    expect(classifySendError(smtp(550, 'RCPT TO', '550 5.1.1 <ana@example.com>: Recipient address rejected')).detail).toBe(
      '550 5.1.1 <ana@example.com>: Recipient address rejected',
    );
  });
});

describe('the provider’s id of a sent message', () => {
  test.each([
    ['250 2.0.0 Ok: queued as 4F2A81C0B3', '4F2A81C0B3'],
    ['250 OK id=1tXyZa-0004Qm-2B', '1tXyZa-0004Qm-2B'],
    ['250 Ok 0100019a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000', '0100019a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000'],
    ['250 Message caught as cm_abc123', 'cm_abc123'],
    ['250 Accepted', '250 Accepted'],
  ])('when the server answers %j, then the id is %j', (response, id) => {
    expect(providerMessageIdOf(response)).toBe(id);
  });
});

describe('describeSmtpUrl', () => {
  test.each([
    ['smtps://user:p%40ss@smtp.example.com', 'smtps://smtp.example.com:465'],
    ['smtp://user:pass@smtp.example.com', 'smtp://smtp.example.com:587'],
    ['smtp://127.0.0.1:2525', 'smtp://127.0.0.1:2525'],
  ])('when the URL is %j, then it is shown as %j, without credentials', (url, shown) => {
    expect(describeSmtpUrl(url)).toBe(shown);
  });
});
