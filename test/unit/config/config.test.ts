import { ConfigError, loadConfig } from '../../../src/config/config';

describe('loadConfig', () => {
  test('when no variable is set, then the embedded defaults apply', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ port: 3000, host: '0.0.0.0', publicUrl: 'http://localhost:3000', bodyLimit: '100kb' });
    expect(config.database).toMatchObject({ uri: undefined, dbName: 'boxcycle', localEngine: 'auto' });
    expect(config.database.dataDir).toMatch(/\.data$/);
    expect(config.stripe.secretKey).toBeUndefined();
    expect(config.seedDemo).toBe(true);
    expect(config.log.format).toBe('pretty');
  });

  test('when PORT is not a number, then the error names PORT and the value', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT: must be a whole number from 0 to 65535 \(got "abc"\)/);
  });

  test('when several variables are wrong, then every one is named', () => {
    try {
      loadConfig({ PORT: '70000', STRIPE_SECRET_KEY: 'pk_test_123', SEED_DEMO: 'maybe', MONGODB_URI: 'postgres://x' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const names = (error as ConfigError).problems.map((problem) => problem.split(':')[0]);
      expect(names.sort()).toEqual(['MONGODB_URI', 'PORT', 'SEED_DEMO', 'STRIPE_SECRET_KEY']);
    }
  });

  test('when a variable is set but empty, then it counts as unset', () => {
    expect(loadConfig({ PORT: '', MONGODB_URI: '', STRIPE_SECRET_KEY: '' })).toMatchObject({
      http: { port: 3000 },
      database: { uri: undefined },
      stripe: { secretKey: undefined },
    });
  });

  test('when production runs with real settings, then they are used and logs are JSON', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_URL: 'https://boxes.example.com/',
      MONGODB_URI: 'mongodb://mongo:27017/?replicaSet=rs0',
      STRIPE_SECRET_KEY: 'sk_test_abc123',
      STRIPE_WEBHOOK_SECRET: 'whsec_abc',
      SEED_DEMO: 'false',
    });
    expect(config).toMatchObject({
      http: { port: 8080, publicUrl: 'https://boxes.example.com' },
      database: { uri: 'mongodb://mongo:27017/?replicaSet=rs0' },
      stripe: { secretKey: 'sk_test_abc123', webhookSecret: 'whsec_abc' },
      seedDemo: false,
      log: { format: 'json' },
    });
  });
});

describe('TRUST_PROXY', () => {
  test('when it is not set, then no proxy is trusted', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
  });

  test.each([
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['loopback', ['loopback']],
    ['loopback, 10.0.0.0/8 ,192.168.1.7', ['loopback', '10.0.0.0/8', '192.168.1.7']],
    ['uniquelocal,linklocal', ['uniquelocal', 'linklocal']],
    ['fd00::/8, ::1', ['fd00::/8', '::1']],
  ])('when it is %j, then Express gets %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected);
  });

  test.each(['true', 'yes', '-1', '1.5', '33', 'loopback,,10.0.0.1', '10.0.0.0/33', '10.0.0', 'fd00::/129', 'example.com', '10.0.0.1/8x'])(
    'when it is %j, then start-up fails naming TRUST_PROXY',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY: /);
    },
  );
});

describe('mail settings', () => {
  test('when neither SMTP_URL nor MAIL_FROM is set, then mail is caught locally and comes from Boxcycle <no-reply@boxcycle.localhost>', () => {
    expect(loadConfig({}).mail).toEqual({ smtpUrl: undefined, from: { name: 'Boxcycle', address: 'no-reply@boxcycle.localhost' } });
  });

  test.each([
    'smtp://smtp.example.com',
    'smtp://smtp.example.com:587',
    'smtps://user:p%40ss@smtp.example.com:465',
    'smtps://apikey:secret@smtp.sendgrid.net:465/',
    'smtp://127.0.0.1:2525?ignoreTLS=true',
  ])('when SMTP_URL is %j, then it is used as given', (url) => {
    expect(loadConfig({ SMTP_URL: url }).mail.smtpUrl).toBe(url);
  });

  test.each(['smtp.example.com', 'http://smtp.example.com', 'smtp://', 'smtp:///nohost', 'smtp://host:99999', 'smtp://host/path', 'smtp:host'])(
    'when SMTP_URL is %j, then start-up fails naming SMTP_URL without printing it (it may hold a password)',
    (url) => {
      try {
        loadConfig({ SMTP_URL: url });
        throw new Error('expected a ConfigError');
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
          'SMTP_URL: must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:password@smtp.example.com:465',
        ]);
      }
    },
  );

  test.each([
    ['Roastery <hello@roastery.example>', { name: 'Roastery', address: 'hello@roastery.example' }],
    ['"Bean & Co" <Hello@Bean.example>', { name: 'Bean & Co', address: 'hello@bean.example' }],
    ['orders@shop.example', { name: '', address: 'orders@shop.example' }],
  ])('when MAIL_FROM is %j, then the sender is %j', (value, expected) => {
    expect(loadConfig({ MAIL_FROM: value }).mail.from).toEqual(expected);
  });

  test.each(['Roastery', 'Roastery <not an address>', 'a@b@c', 'Name <a@example.com> trailing'])(
    'when MAIL_FROM is %j, then start-up fails naming it',
    (value) => {
      expect(() => loadConfig({ MAIL_FROM: value })).toThrow(/MAIL_FROM: must be an e-mail address, or a name and an address/);
    },
  );
});

describe('APP_SECRET', () => {
  test('when it is not set, then the installation makes its own (none is configured)', () => {
    expect(loadConfig({}).appSecret).toBeUndefined();
  });

  test('when it is long enough, then it is used', () => {
    expect(loadConfig({ APP_SECRET: 'x'.repeat(32) }).appSecret).toBe('x'.repeat(32));
  });

  test('when it is too short, then start-up fails naming it, without printing it', () => {
    expect(() => loadConfig({ APP_SECRET: 'short-secret' })).toThrow(/APP_SECRET: must be at least 32 characters/);
    expect(() => loadConfig({ APP_SECRET: 'short-secret' })).not.toThrow(/short-secret/);
  });
});

describe('METRICS_PORT and METRICS_TOKEN', () => {
  test('when neither is set, then metrics are not served', () => {
    expect(loadConfig({}).metrics).toEqual({ port: undefined, host: '0.0.0.0', token: undefined });
  });

  test('when a port of its own and a token are set, then metrics are served there and ask for the token', () => {
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: 'a'.repeat(32) }).metrics).toEqual({ port: 9464, host: '0.0.0.0', token: 'a'.repeat(32) });
  });

  test.each([
    [{ METRICS_PORT: 'nine' }, /METRICS_PORT: must be a whole number from 0 to 65535 \(got "nine"\)/],
    [{ METRICS_PORT: '70000' }, /METRICS_PORT: must be a whole number from 0 to 65535/],
    [{ PORT: '8080', METRICS_PORT: '8080' }, /METRICS_PORT: must not be PORT: metrics are never served on the public port/],
    [{ METRICS_PORT: '3000' }, /METRICS_PORT: must not be PORT/],
    [{ METRICS_TOKEN: 'b'.repeat(32) }, /METRICS_TOKEN: protects the metrics port: set METRICS_PORT too/],
  ])('when %j, then start-up fails naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test.each(['too-short', 'has spaces in it, sixteen+ chars', 'x'.repeat(257)])('when the token is %j, then start-up fails without printing it', (token) => {
    expect(() => loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: token })).toThrow(/METRICS_TOKEN: must be 16 to 256 visible ASCII characters/);
    expect(() => loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: token })).not.toThrow(token);
  });
});
