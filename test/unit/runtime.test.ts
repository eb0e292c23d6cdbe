import { loadConfig } from '../../src/config/config';
import { describeSmtpUrl } from '../../src/messages/mail-transport';
import { startupBanner, stripeModeOf, type Runtime } from '../../src/runtime';
import { OFFLINE_WEBHOOK_SECRET, STRIPE_MOCK_KEY } from '../../src/stripe/stripe-client';

function runtimeWith(overrides: Partial<Runtime>): Runtime {
  return {
    role: 'all',
    agenda: {} as Runtime['agenda'],
    databaseDescription: 'MONGODB_URI',
    stripeMode: 'stripe-mock',
    webhookSecretSource: 'offline',
    stop: async () => undefined,
    isDraining: () => false,
    ...overrides,
  };
}

describe('startupBanner', () => {
  test('when Stripe is offline and no webhook secret is set, then it says webhooks are verified with the offline secret', () => {
    const banner = startupBanner(runtimeWith({ stripeMode: 'stripe-mock', webhookSecretSource: 'offline' }), loadConfig({}));
    expect(banner).toContain('OFFLINE');
    expect(banner).toContain(`webhooks are verified with ${OFFLINE_WEBHOOK_SECRET}`);
  });

  test('when Stripe is offline but STRIPE_WEBHOOK_SECRET is set, then it says webhooks are verified with STRIPE_WEBHOOK_SECRET, not the offline secret', () => {
    const banner = startupBanner(
      runtimeWith({ stripeMode: 'stripe-mock', webhookSecretSource: 'configured' }),
      loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_mine' }),
    );
    expect(banner).toContain('OFFLINE');
    expect(banner).toContain('webhooks are verified with STRIPE_WEBHOOK_SECRET');
    expect(banner).not.toContain(OFFLINE_WEBHOOK_SECRET);
    expect(banner).not.toContain('whsec_mine');
  });

  test('when Stripe test mode runs with a webhook secret, then it says so', () => {
    const banner = startupBanner(runtimeWith({ stripeMode: 'stripe-test', webhookSecretSource: 'configured' }), loadConfig({}));
    expect(banner).toContain('test mode');
    expect(banner).toContain('webhooks are verified with STRIPE_WEBHOOK_SECRET');
    expect(banner).not.toContain(OFFLINE_WEBHOOK_SECRET);
  });

  test('when a Stripe key is set without a webhook secret, then it says webhooks are refused until STRIPE_WEBHOOK_SECRET is set', () => {
    const banner = startupBanner(runtimeWith({ stripeMode: 'stripe-live', webhookSecretSource: 'none' }), loadConfig({}));
    expect(banner).toContain('LIVE mode');
    expect(banner).toMatch(/webhooks are refused \(503\) until STRIPE_WEBHOOK_SECRET is set/);
    expect(banner).not.toContain(OFFLINE_WEBHOOK_SECRET);
  });

  test('when only the worker runs, then nothing is said about webhooks', () => {
    const banner = startupBanner(runtimeWith({ role: 'worker', stripeMode: 'stripe-test', webhookSecretSource: 'none' }), loadConfig({}));
    expect(banner).not.toMatch(/webhook/i);
  });
});

describe('startupBanner: mail', () => {
  test('when no SMTP_URL is set, then it says mail is not leaving this machine and where it is caught', () => {
    const banner = startupBanner(runtimeWith({ mail: { mode: 'catcher', target: 'smtp://127.0.0.1:2525' } }), loadConfig({}));
    expect(banner).toContain('Mail:     not leaving this machine: caught at smtp://127.0.0.1:2525');
    expect(banner).toContain('To send for real: SMTP_URL=');
  });

  test('when SMTP_URL is set, then it names the server and the sender, never the credentials', () => {
    const config = loadConfig({ SMTP_URL: 'smtps://apikey:s3cret@smtp.example.com:465', MAIL_FROM: 'Bean <hello@bean.example>' });
    const banner = startupBanner(runtimeWith({ mail: { mode: 'smtp', target: describeSmtpUrl(config.mail.smtpUrl!) } }), config);
    expect(banner).toContain('Mail:     sent through smtps://smtp.example.com:465, from Bean <hello@bean.example>');
    expect(banner).not.toMatch(/s3cret|apikey/);
    expect(banner).not.toContain('not leaving this machine');
  });

  test('when only the web role runs, then nothing is said about mail (the worker sends it)', () => {
    expect(startupBanner(runtimeWith({ role: 'web' }), loadConfig({}))).not.toMatch(/Mail:/);
  });
});

describe('stripeModeOf', () => {
  test.each([
    [{ secretKey: STRIPE_MOCK_KEY, host: '127.0.0.1' }, true, 'stripe-mock'],
    [{ secretKey: 'sk_test_abc', host: 'localhost' }, false, 'stripe-mock'],
    [{ secretKey: 'sk_test_abc' }, false, 'stripe-test'],
    [{ secretKey: 'rk_test_abc' }, false, 'stripe-test'],
    [{ secretKey: 'sk_live_abc' }, false, 'stripe-live'],
    [{ secretKey: 'rk_live_abc' }, false, 'stripe-live'],
    [{ secretKey: 'sk_live_abc', host: 'stripe-proxy.internal' }, false, 'stripe-live'],
  ])('when the target is %j (local mock: %s), then the mode is %s', (target, mocked, mode) => {
    expect(stripeModeOf(target, mocked)).toBe(mode);
  });
});
