import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Every environment variable Tally reads, with its default. The README lists the same. */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, 'a postgresql:// connection URL')),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(24),
  LEDGER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  LEDGER_CACHE_ACCOUNTS: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  TALLY_DATA_DIR: z.string().min(1).default('.data'),
  TALLY_ADMIN_KEY: optional(z.string().min(24, 'at least 24 characters')),
  PUBLIC_URL: optional(url),
  HOLD_DEFAULT_SECONDS: z.coerce.number().int().min(1).max(7 * 86400).default(900),
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  IDEMPOTENCY_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(168),
  IDEMPOTENCY_PURGE_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  WEBHOOK_RETRY_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
  CHECKOUT_RECONCILE_INTERVAL_MS: z.coerce.number().int().refine((ms) => ms === 0 || ms >= 100, '0 (off) or at least 100').default(300_000),
  CHECKOUT_RECONCILE_AFTER_SECONDS: z.coerce.number().int().min(0).default(600),
  CHECKOUT_RECONCILE_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
  STRIPE_SECRET_KEY: optional(z.string().regex(/^(sk|rk)_/, 'a Stripe secret key (sk_... or rk_...)')),
  STRIPE_WEBHOOK_SECRET: optional(z.string().regex(/^whsec_/, 'a webhook signing secret (whsec_...)')),
  STRIPE_API_URL: optional(z.url({ protocol: /^https?$/ }).describe('Another Stripe-compatible server (stripe-mock, the simulator elsewhere)')),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(20_000),
  STRIPE_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  STRIPE_SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(12111),
  TALLY_REDIRECT_ORIGINS: optional(z.string()),
  CHECKOUT_SUCCESS_URL: optional(url),
  CHECKOUT_CANCEL_URL: optional(url),
  PORTAL_RETURN_URL: optional(url),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Parses the environment once. A wrong value names the variable and what is expected. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const shown = /KEY|SECRET|DATABASE_URL/.test(name) ? '' : ` (got ${JSON.stringify(env[name])})`;
    return `  ${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
}
