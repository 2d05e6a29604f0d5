import { z } from 'zod';
import { DEFAULT_DATABASE_TIMEOUT_MS } from './db/client.js';
import { withoutUserinfo } from './lib/without-userinfo.js';

const url = z.url({ protocol: /^https?$/ });
/** Node's timers take at most 2^31 - 1 ms (about 24.8 days); a longer interval would be set to 1 ms, a task run back to back. */
const intervalMs = (min: number) => z.coerce.number().int().min(min).max(2_147_483_647, 'at most 2147483647 (about 24.8 days: the longest timer Node keeps)');

/** Every environment variable Tally reads, with its default. The README lists the same. */
export const configObject = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgresql:// connection URL')
    // Read as a URL from the first connection on: one that does not parse would fail there, showing its password.
    .refine((value) => URL.canParse(value), 'not a valid URL (a password or user with @ : / ? # or % in it must be percent-encoded, as %40 %3A %2F %3F %23 %25)')
    .optional(),
  DATABASE_WAIT_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(24),
  DATABASE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(DEFAULT_DATABASE_TIMEOUT_MS),
  LEDGER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  LEDGER_CACHE_ACCOUNTS: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  TALLY_DATA_DIR: z.string().min(1).default('.data'),
  TALLY_ADMIN_KEY: z.string().min(24, 'at least 24 characters').optional(),
  TALLY_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, _ or -').optional(),
  PUBLIC_URL: url.optional(),
  HOLD_DEFAULT_SECONDS: z.coerce.number().int().min(1).max(7 * 86400).default(900),
  SWEEP_INTERVAL_MS: intervalMs(100).default(5000),
  IDEMPOTENCY_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(168),
  IDEMPOTENCY_PURGE_INTERVAL_MS: intervalMs(100).default(60_000),
  WEBHOOK_RETRY_INTERVAL_MS: intervalMs(100).default(2000),
  CHECKOUT_RECONCILE_INTERVAL_MS: intervalMs(0).refine((ms) => ms === 0 || ms >= 100, '0 (off) or at least 100').default(300_000),
  CHECKOUT_RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(0).max(7 * 86400).default(600),
  CHECKOUT_RECONCILE_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_/, 'a Stripe secret key (sk_... or rk_...)').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_/, 'a webhook signing secret (whsec_...)').optional(),
  STRIPE_API_URL: z.url({ protocol: /^https?$/ }).describe('Another Stripe-compatible server (stripe-mock, the simulator elsewhere)').optional(),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(20_000),
  STRIPE_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  STRIPE_SIMULATOR: z.enum(['auto', 'on', 'off']).default('auto'),
  STRIPE_SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(12111),
  // The built-in simulator's pages (checkout, portal) open in a browser: in a container, 0.0.0.0 and a published port.
  STRIPE_SIMULATOR_HOST: z.string().min(1).default('127.0.0.1'),
  // Read as Tally's guards read it: `Production` or ` production ` is production too, not a start with the simulator taking no money.
  NODE_ENV: z.string().trim().toLowerCase().optional(),
  TALLY_REDIRECT_ORIGINS: z.string().refine(isOriginList, 'comma-separated http(s) origins, such as https://shop.example.com,https://app.example.com').optional(),
  CHECKOUT_SUCCESS_URL: url.optional(),
  CHECKOUT_CANCEL_URL: url.optional(),
  PORTAL_RETURN_URL: url.optional(),
});

/** Each comma-separated entry an http(s) URL, whose origin the redirect policy keeps (as plugins/billing.ts splits them). */
function isOriginList(value: string): boolean {
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.length > 0 && entries.every((entry) => URL.canParse(entry) && /^https?:$/.test(new URL(entry).protocol));
}

/**
 * An empty or whitespace-only value is unset, its default applies: docker-compose passes `${VAR:-}`, '' when
 * the shell has none. (Read as a number, '' would be 0: PORT a random port, CHECKOUT_RECONCILE_INTERVAL_MS off.)
 */
function blankAsUnset(env: unknown): unknown {
  if (typeof env !== 'object' || env === null) return env;
  return Object.fromEntries(Object.entries(env).filter(([, value]) => !(typeof value === 'string' && value.trim() === '')));
}

export const configSchema = z.preprocess(blankAsUnset, configObject).superRefine(checkStripeSetting).superRefine(checkDatabaseSetting);

export type Config = z.infer<typeof configSchema>;

/**
 * Which Stripe Tally talks to, decided here so that a wrong setting stops it before it serves. The
 * built-in simulator takes no money: its checkouts are paid with any card number, and each grants
 * real credits. So it runs only where that is meant: by default outside production (`npm start`
 * with no configuration), and in production (NODE_ENV=production, as in the Docker image) only with
 * STRIPE_SIMULATOR=on. A deployment that forgot its key stops and says so.
 */
function checkStripeSetting(config: z.output<typeof configObject>, ctx: z.RefinementCtx): void {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (config.STRIPE_SECRET_KEY) {
    if (!config.STRIPE_WEBHOOK_SECRET) problem('STRIPE_WEBHOOK_SECRET', 'required with STRIPE_SECRET_KEY: the signing secret of your webhook endpoint (whsec_...)');
    if (config.STRIPE_SIMULATOR === 'on') problem('STRIPE_SIMULATOR', 'on, but STRIPE_SECRET_KEY is set too: Tally talks either to Stripe or to its simulator; unset one');
    // A live key is Stripe's alone: sent to a stand-in (stripe-mock, a simulator), it would be handed to that server,
    // in clear over http, and its checkouts, paid with any card, would grant real credits.
    if (config.STRIPE_API_URL && /^(sk|rk)_live_/.test(config.STRIPE_SECRET_KEY)) {
      problem('STRIPE_API_URL', 'set, but STRIPE_SECRET_KEY is a live key: a live key talks only to Stripe itself; unset STRIPE_API_URL, or use a test key (sk_test_...) with a Stripe-compatible server');
    }
    return;
  }
  if (config.STRIPE_SIMULATOR === 'off') problem('STRIPE_SECRET_KEY', 'required: STRIPE_SIMULATOR is off');
  else if (config.STRIPE_SIMULATOR === 'auto' && config.NODE_ENV === 'production') {
    problem(
      'STRIPE_SECRET_KEY',
      "required when NODE_ENV=production: without it Tally would serve its built-in Stripe simulator, whose checkouts take no money (set STRIPE_SIMULATOR=on to do that on purpose, for a demo)",
    );
  }
}

/**
 * Where the ledger lives. Without DATABASE_URL, Tally starts an embedded PostgreSQL in TALLY_DATA_DIR:
 * right for `npm start`, wrong for a production container, whose ledger would live in the container
 * and go with it. So production needs DATABASE_URL, except for a demo (STRIPE_SIMULATOR=on), which
 * takes no money and may keep its data where it likes.
 */
function checkDatabaseSetting(config: z.output<typeof configObject>, ctx: z.RefinementCtx): void {
  if (config.DATABASE_URL || config.NODE_ENV !== 'production' || config.STRIPE_SIMULATOR === 'on') return;
  ctx.addIssue({
    code: 'custom',
    path: ['DATABASE_URL'],
    message: `required when NODE_ENV=production: without it Tally would keep the ledger in an embedded PostgreSQL in TALLY_DATA_DIR (${config.TALLY_DATA_DIR}), which a container loses when it is replaced`,
  });
}

export class ConfigError extends Error {}

/** Parses the environment once. A wrong value names the variable and what is expected. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const shown = /KEY|SECRET|DATABASE_URL/.test(name) ? '' : ` (got ${JSON.stringify(env[name] === undefined ? undefined : withoutUserinfo(env[name]))})`;
    return `  ${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
}
