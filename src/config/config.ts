import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { LOCAL_DB_ENGINES } from '../local/local-database';
import { defaultDataDir } from '../local/project-paths';

const Port = z.coerce
  .number({ error: 'must be a whole number from 0 to 65535' })
  .int({ error: 'must be a whole number from 0 to 65535' })
  .min(0, { error: 'must be a whole number from 0 to 65535' })
  .max(65535, { error: 'must be a whole number from 0 to 65535' });
const PositiveInt = z.coerce.number({ error: 'must be a positive whole number' }).int().positive({ error: 'must be a positive whole number' });
const Flag = z.stringbool({ error: 'must be true or false' });

/** What Express's `trust proxy` is given: nobody, a number of hops, or the proxies' addresses. */
export type TrustProxy = false | number | string[];

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_PROXY_HOPS = 32;

/** An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`), as proxy-addr reads them. */
function isAddressOrBlock(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Which proxies in front of the app may set X-Forwarded-For (and so the client IP that rate limits key on).
 * Off by default: the peer is the client. `true` (trust every hop) is refused: any client could then choose
 * its IP; give the number of proxies in front, or their addresses.
 */
const TrustProxySetting = z.string().transform((value, ctx): TrustProxy => {
  const text = value.trim();
  if (text === 'false') return false;
  if (/^\d+$/.test(text) && Number(text) <= MAX_PROXY_HOPS) return Number(text) === 0 ? false : Number(text);
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => PROXY_PRESETS.has(entry) || isAddressOrBlock(entry))) return entries;
  ctx.addIssue({
    code: 'custom',
    message:
      text === 'true'
        ? 'true would trust every hop, so any client could choose its IP: give the number of proxies in front (e.g. 1) or their addresses'
        : `must be false, a number of proxies from 0 to ${MAX_PROXY_HOPS}, or a comma list of addresses, CIDR blocks and loopback, linklocal, uniquelocal`,
  });
  return z.NEVER;
});

/** `Name <address>` or a bare address: who mail comes from when a message names no sender. */
export interface MailAddress {
  name: string;
  address: string;
}

const NAMED_ADDRESS = /^\s*"?([^"<>]*?)"?\s*<([^<>\s]+)>\s*$/;
const MailFromSetting = z.string().transform((value, ctx): MailAddress => {
  const named = NAMED_ADDRESS.exec(value);
  const [name, address] = named ? [named[1]!.trim(), named[2]!] : ['', value.trim()];
  if (z.email().safeParse(address).success && !/[\r\n]/.test(name)) return { name, address: address.toLowerCase() };
  ctx.addIssue({ code: 'custom', message: 'must be an e-mail address, or a name and an address: Boxcycle <no-reply@example.com>' });
  return z.NEVER;
});

/**
 * Where mail goes: an smtp:// (STARTTLS when offered) or smtps:// (TLS from the start) URL with the server's
 * host, optional port and credentials (percent-encoded: `smtps://user:p%40ss@smtp.example.com:465`).
 */
const SmtpUrlSetting = z.string().refine(
  (value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '' && url.pathname.replace(/^\/+/, '') === '' && url.hash === '';
  },
  { error: 'must be an smtp:// or smtps:// URL with a host, e.g. smtps://user:password@smtp.example.com:465' },
);

/** Variables whose value is a secret: an error names them but never prints what they hold. */
const SECRET_VARIABLES: ReadonlySet<string> = new Set(['SMTP_URL', 'APP_SECRET', 'METRICS_TOKEN']);

/** Every environment variable the app reads. The README's table lists them; keep the two in step. */
export const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: Port.default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    PUBLIC_URL: z.url({ error: 'must be an absolute URL' }).optional(),
    TRUST_PROXY: TrustProxySetting.default(false),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['pretty', 'json']).optional(),

    MONGODB_URI: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, { error: 'must be a mongodb:// or mongodb+srv:// URI' })
      .optional(),
    MONGODB_DB: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, { error: 'must be a database name' })
      .default('boxcycle'),
    LOCAL_DB: z.enum(LOCAL_DB_ENGINES).default('auto'),
    DATA_DIR: z.string().min(1).default(defaultDataDir),

    STRIPE_SECRET_KEY: z
      .string()
      .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, { error: 'must be a Stripe secret key (sk_test_… or rk_test_…)' })
      .optional(),
    STRIPE_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_/, { error: 'must start with whsec_' })
      .optional(),
    STRIPE_API_HOST: z.string().min(1).optional(),
    STRIPE_API_PORT: Port.optional(),
    STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional(),

    SMTP_URL: SmtpUrlSetting.optional(),
    MAIL_FROM: MailFromSetting.default({ name: 'Boxcycle', address: 'no-reply@boxcycle.localhost' }),
    APP_SECRET: z.string().min(32, { error: 'must be at least 32 characters (e.g. openssl rand -base64 32)' }).optional(),

    SEED_DEMO: Flag.default(true),
    SEED_DEMO_HISTORY: Flag.default(true),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/, { error: 'must be a size such as 100kb' })
      .default('100kb'),
    WORKER_HEARTBEAT_SECONDS: PositiveInt.default(10),
    WORKER_STALE_SECONDS: PositiveInt.default(60),
    AGENDA_PROCESS_EVERY_MS: PositiveInt.default(1000),
    AGENDA_MAX_CONCURRENCY: PositiveInt.default(20),
    AGENDA_LOCK_LIMIT: PositiveInt.default(20),
    WEBHOOK_CONCURRENCY: PositiveInt.default(10),
    WEBHOOK_POLL_MS: PositiveInt.default(500),
    SHUTDOWN_TIMEOUT_MS: PositiveInt.default(8000),

    // Prometheus metrics (GET /metrics) on a port of their own, never the public one; unset: not served at all.
    // METRICS_TOKEN adds a bearer token on top (for a metrics port a network policy cannot keep private).
    METRICS_PORT: Port.optional(),
    METRICS_HOST: z.string().min(1).default('0.0.0.0'),
    METRICS_TOKEN: z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, { error: 'must be 16 to 256 visible ASCII characters (e.g. openssl rand -hex 32)' })
      .optional(),
  })
  .superRefine((env, ctx) => {
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT)
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must not be PORT: metrics are never served on the public port' });
    if (env.METRICS_TOKEN !== undefined && env.METRICS_PORT === undefined)
      ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: 'protects the metrics port: set METRICS_PORT too (metrics are not served without it)' });
  });

export interface Config {
  env: 'development' | 'test' | 'production';
  http: { port: number; host: string; publicUrl: string; bodyLimit: string; trustProxy: TrustProxy };
  log: { level: string; format: 'pretty' | 'json' };
  database: { uri: string | undefined; dbName: string; localEngine: (typeof LOCAL_DB_ENGINES)[number]; dataDir: string };
  stripe: {
    secretKey: string | undefined;
    webhookSecret: string | undefined;
    host: string | undefined;
    port: number | undefined;
    protocol: 'http' | 'https' | undefined;
  };
  /** Outgoing mail: the SMTP server (none: a local catcher keeps every message on this machine) and the default sender. */
  mail: { smtpUrl: string | undefined; from: MailAddress };
  /** Signs action links (unsubscribe, skip…); without it the installation makes and keeps its own. */
  appSecret: string | undefined;
  seedDemo: boolean;
  /** Offline, with the demo store: give it a made-up year of history at its first start (src/demo). */
  seedDemoHistory: boolean;
  worker: {
    heartbeatSeconds: number;
    staleSeconds: number;
    processEveryMs: number;
    maxConcurrency: number;
    lockLimit: number;
    /** The inbox consumer: events processed at once per worker (also how many it claims at a time), and how often an idle one looks. */
    webhookConcurrency: number;
    webhookPollMs: number;
  };
  shutdownTimeoutMs: number;
  /** Prometheus metrics: GET /metrics on `port` (not served when unset), asking for a bearer token when `token` is set. */
  metrics: { port: number | undefined; host: string; token: string | undefined };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once at start; fails fast with every bad variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set" (docker compose passes `FOO=` for unset substitutions).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const value = present[name];
        const shown = value !== undefined && !SECRET_VARIABLES.has(name) ? ` (got ${JSON.stringify(value)})` : '';
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    http: {
      port: e.PORT,
      host: e.HOST,
      publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
      bodyLimit: e.BODY_LIMIT,
      trustProxy: e.TRUST_PROXY,
    },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (e.NODE_ENV === 'production' ? 'json' : 'pretty') },
    database: { uri: e.MONGODB_URI, dbName: e.MONGODB_DB, localEngine: e.LOCAL_DB, dataDir: path.resolve(e.DATA_DIR) },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      host: e.STRIPE_API_HOST,
      port: e.STRIPE_API_PORT,
      protocol: e.STRIPE_API_PROTOCOL,
    },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    appSecret: e.APP_SECRET,
    seedDemo: e.SEED_DEMO,
    seedDemoHistory: e.SEED_DEMO_HISTORY,
    worker: {
      heartbeatSeconds: e.WORKER_HEARTBEAT_SECONDS,
      staleSeconds: e.WORKER_STALE_SECONDS,
      processEveryMs: e.AGENDA_PROCESS_EVERY_MS,
      maxConcurrency: e.AGENDA_MAX_CONCURRENCY,
      lockLimit: e.AGENDA_LOCK_LIMIT,
      webhookConcurrency: e.WEBHOOK_CONCURRENCY,
      webhookPollMs: e.WEBHOOK_POLL_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST, token: e.METRICS_TOKEN },
  };
}
