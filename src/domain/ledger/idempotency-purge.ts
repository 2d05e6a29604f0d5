import type { Pool } from 'pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { purgeIdempotencyRecords } from '../../db/idempotency-queries.js';
import { BackgroundFailures } from '../../lib/background-failures.js';
import { startPeriodic } from '../../lib/periodic.js';

/** Rows deleted per statement: a purge never holds a long transaction. */
const BATCH = 5000;

export interface IdempotencyPurgeOptions {
  retentionHours: number;
  intervalMs: number;
}

/**
 * Every ledger write a client may retry leaves an idempotency record; they are kept for
 * `retentionHours` (IDEMPOTENCY_RETENTION_HOURS), then deleted a batch at a time, so the table does
 * not grow for ever. A key retried after that is a new request. Exactly-once grants from Stripe do
 * not depend on these records (a grant's source key stays unique for good).
 */
export async function purgeIdempotency(pool: Pool, retentionHours: number, stopping?: AbortSignal): Promise<number> {
  let deleted = 0;
  let last: number;
  do {
    last = await purgeIdempotencyRecords(pool, retentionHours, BATCH);
    deleted += last;
  } while (last === BATCH && !stopping?.aborted); // a stopping Tally leaves the rest to the next start
  return deleted;
}

export function startIdempotencyPurge(pool: Pool, logger: Logger, { retentionHours, intervalMs }: IdempotencyPurgeOptions): () => Promise<void> {
  const purge = async (stopping: AbortSignal) => {
    const deleted = await purgeIdempotency(pool, retentionHours, stopping);
    if (deleted) logger.info({ deleted, retentionHours }, 'purged idempotency records');
  };
  return startPeriodic(purge, intervalMs, new BackgroundFailures(logger, 'idempotency purge'));
}
