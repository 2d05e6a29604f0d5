import pg from 'pg';
import { TallyClient } from '../tally-client.js';
import { checkFinalState } from './final-checks.js';
import { Journal } from './journal.js';
import { ledgerOperations, type SoakContext } from './ledger-operations.js';
import { Random } from './random.js';
import { StripeOperations, type SoakStripe } from './stripe-operations.js';

export interface SoakTarget {
  /** Base URLs of the Tally processes sharing one database. */
  urls: string[];
  adminKey: string;
  databaseUrl: string;
  /** The Stripe simulator the processes talk to; without it, no packs are bought or refunded. */
  stripe?: SoakStripe;
  /** The processes' SWEEP_INTERVAL_MS. */
  sweepIntervalMs: number;
}

export interface SoakOptions {
  seed: number;
  seconds: number;
  /** Goes on past `seconds` until this many operations have run, however slow the machine (default 0). */
  minimumOperations?: number;
  accounts: number;
  /** How many of them see no expiry within a minute, so that the account cache decides their batches (default: half). */
  steadyAccounts?: number;
  /** Requests in flight at once. */
  concurrency: number;
  maxExpirySeconds: number;
  log(line: string): void;
}

export interface SoakReport {
  operations: number;
  counts: Record<string, number>;
  statuses: Record<string, number>;
  violations: string[];
}

/**
 * Drives a random mix of ledger requests (and, with Stripe, payments, refunds and disputes) from a
 * seeded PRNG against Tally processes sharing a database for `seconds`; then settles what is left
 * (open holds released, expiries passed and swept, Stripe's events processed) and checks that the
 * ledger agrees with everything that was acknowledged.
 */
export async function runSoak(target: SoakTarget, options: SoakOptions): Promise<SoakReport> {
  const random = new Random(options.seed);
  const runId = `soak${options.seed}-${Date.now().toString(36)}`;
  const admins = target.urls.map((url) => new TallyClient(url, target.adminKey));
  const service = await admins[0].expect(201, 'POST', '/v1/api-keys', { name: runId, role: 'service' });
  const services = admins.map((client) => client.withKey(service.body.secret));
  const accounts = Array.from({ length: options.accounts }, (_, i) => `${runId}-acct${i}`);
  for (const account of accounts) {
    await admins[0].expect(201, 'PUT', `/v1/accounts/${account}`, { email: `${account}@example.com` });
    await admins[0].expect(201, 'POST', `/v1/accounts/${account}/grants`, { amount: 300 }, { 'idempotency-key': `${account}-start` });
  }
  let keySeq = 0;
  const ctx: SoakContext = {
    admins,
    services,
    random,
    journal: new Journal(),
    accounts,
    steady: new Set(accounts.slice(0, options.steadyAccounts ?? Math.floor(options.accounts / 2))),
    maxExpirySeconds: options.maxExpirySeconds,
    newKey: () => `${runId}-${keySeq++}`,
  };
  let stripe: StripeOperations | undefined;
  if (target.stripe) {
    const pack = await admins[0].expect(201, 'POST', '/v1/packs', { name: 'Soak', credits: 100, unitAmount: 100, currency: 'usd' }, { 'idempotency-key': `${runId}-pack` });
    stripe = new StripeOperations(target.stripe, pack.body.id);
  }
  const operations = { ...ledgerOperations, ...stripe?.operations() };
  const weights = Object.fromEntries(Object.entries(operations).map(([name, op]) => [name, op.weight]));

  const started = Date.now();
  const until = started + options.seconds * 1000;
  const minimum = options.minimumOperations ?? 0;
  const worker = async () => {
    while (Date.now() < until || sum(ctx.journal.counts) < minimum) await operations[random.weighted(weights)].run(ctx);
  };
  const progress = setInterval(() => options.log(`  ${Math.round((Date.now() - started) / 1000)} s: ${sum(ctx.journal.counts)} operations, ${ctx.journal.violations.length} violations`), 10_000);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    clearInterval(progress);
  }
  options.log(`ran ${sum(ctx.journal.counts)} operations in ${((Date.now() - started) / 1000).toFixed(1)} s; settling`);

  const pool = new pg.Pool({ connectionString: target.databaseUrl, max: 2 });
  try {
    await releaseOpenHolds(ctx);
    const unswept = await settleEverything(ctx, target, pool, accounts);
    await checkFinalState(ctx, pool, unswept);
  } finally {
    await pool.end();
  }
  if (stripe) options.log(`payments ${stripe.payments.length}; Stripe refused ${stripe.refused} of the soak's own requests (a disputed charge refunded, say)`);
  return { operations: sum(ctx.journal.counts), counts: ctx.journal.counts, statuses: ctx.journal.statuses, violations: ctx.journal.violations };
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Releases every hold that still reserves credits (the long holds of the steady accounts), as a worker would. */
async function releaseOpenHolds(ctx: SoakContext): Promise<void> {
  for (const account of ctx.accounts) {
    let cursor: string | null = null;
    do {
      const page = await ctx.admins[0].expect(200, 'GET', `/v1/accounts/${account}/holds?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      for (const hold of page.body.data) {
        const reply = await ctx.services[0].request('POST', `/v1/holds/${hold.id}/release`, {});
        ctx.journal.answered('final release', `final release of ${hold.id}`, reply, [200, 409]);
        if (reply.status === 200) ctx.journal.settled(hold.id, 'released', reply.body.entryId);
      }
      cursor = page.body.nextCursor;
    } while (cursor);
  }
}

/**
 * Waits until Stripe's events are delivered and processed; then until everything acknowledged has
 * expired, and reads the balances at once, most likely before the sweeper has written the last
 * expiries (a balance counts them from the instant they are due, so the sweep changes none of them);
 * then until the sweeper has written them. Returns the balances read before.
 */
async function settleEverything(ctx: SoakContext, target: SoakTarget, pool: pg.Pool, accounts: string[]): Promise<Map<string, unknown>> {
  await waitUntil(ctx, 'Stripe events not delivered or processed', async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM stripe_events WHERE status IN ('pending', 'failed')`);
    return rows[0].n === 0 && (target.stripe?.simulator.pendingDeliveries() ?? 0) === 0;
  });
  const wait = ctx.journal.latestExpiry - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const unswept = new Map<string, unknown>();
  for (const account of accounts) unswept.set(account, (await ctx.admins[0].expect(200, 'GET', `/v1/accounts/${account}/balance`)).body);
  await waitUntil(ctx, 'expired grants or holds not swept', async () => {
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM grants WHERE account_id = ANY($1) AND remaining > 0 AND expires_at <= now())
            + (SELECT count(*) FROM holds WHERE account_id = ANY($1) AND status = 'active') AS left`,
      [accounts],
    );
    return Number(rows[0].left) === 0;
  });
  return unswept;
}

async function waitUntil(ctx: SoakContext, what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > deadline) return ctx.journal.violation(`after a minute, still ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
