import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { Accounts } from '../domain/accounts/accounts.js';
import { ApiKeys } from '../domain/api-keys/api-keys.js';
import { BalanceReader } from '../domain/balance/balance-reader.js';
import { startExpirySweeper } from '../domain/ledger/expiry-sweeper.js';
import { HoldReader } from '../domain/ledger/hold-reader.js';
import { startIdempotencyPurge } from '../domain/ledger/idempotency-purge.js';
import { Ledger } from '../domain/ledger/ledger.js';
import { readInstanceId } from '../db/instance-identity.js';
import { StripeKeyAttempts } from '../stripe/stripe-key-attempts.js';
import { TallyInstance } from '../stripe/tally-instance.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    db: Database;
    ledger: Ledger;
    balances: BalanceReader;
    holds: HoldReader;
    accounts: Accounts;
    apiKeys: ApiKeys;
    /** Which Tally this is, in what it makes in Stripe (the database's id, or TALLY_INSTANCE_ID). */
    instance: TallyInstance;
  }
}

export interface ServicesOptions {
  config: Config;
  database: Database;
}

/** The domain services, built once per app over one database. */
export default fp<ServicesOptions>(
  async (app, { config, database }) => {
    // Ledger transactions in flight at once from this process. Fewer means bigger batches, and each
    // batch has a fixed cost (round trips, commit): 1 measured best for spends on 2 cores, once the
    // next batch starts before the last one's responses are written (bench/HISTORY.md). Below the
    // pool size: reads and Stripe work need connections too.
    const ledger = new Ledger(database.pool, {
      maxConcurrent: Math.min(config.LEDGER_CONCURRENCY, Math.max(1, config.DATABASE_POOL_SIZE - 4)),
      // Spends on an account this process wrote last need no load (account-cache.ts).
      cacheAccounts: config.LEDGER_CACHE_ACCOUNTS,
    });
    app.decorate('config', config);
    app.decorate('instance', new TallyInstance(config.TALLY_INSTANCE_ID ?? (await readInstanceId(database.pool)), app.log, new StripeKeyAttempts(database.prisma)));
    app.decorate('db', database);
    const stopTelling = database.silence.listen((change) =>
      change.silent
        ? app.log.warn({ reason: change.reason }, 'the database does not answer: every request that needs it is a 503 at once until it does')
        : app.log.info({ silentForMs: change.silentForMs }, 'the database answers again'),
    );
    app.decorate('ledger', ledger);
    app.decorate('balances', new BalanceReader(database.pool));
    app.decorate('holds', new HoldReader(database.pool));
    app.decorate('accounts', new Accounts(database.prisma));
    app.decorate('apiKeys', new ApiKeys(database.prisma, config.TALLY_ADMIN_KEY));
    const stopSweeper = startExpirySweeper(database.pool, ledger, app.log, { intervalMs: config.SWEEP_INTERVAL_MS, databaseTimeoutMs: config.DATABASE_TIMEOUT_MS });
    const stopPurge = startIdempotencyPurge(database.pool, app.log, { retentionHours: config.IDEMPOTENCY_RETENTION_HOURS, intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS });
    app.addHook('onClose', async () => {
      stopTelling();
      await stopSweeper();
      await stopPurge();
      await ledger.drain();
    });
  },
  { name: 'services' },
);
