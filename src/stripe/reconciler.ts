import type { FastifyBaseLogger as Logger } from 'fastify';
import { isDatabaseUnreachable } from '../db/database-unreachable.js';
import { isThirdPartyUnavailable } from '../errors.js';
import { BackgroundFailures } from '../lib/background-failures.js';
import { startPeriodic } from '../lib/periodic.js';

/** What every reconciliation pass is given (CHECKOUT_RECONCILE_AFTER_SECONDS, CHECKOUT_RECONCILE_BATCH). */
export interface ReconcileOptions {
  /** Only what Tally should have heard of longer ago than this: webhooks and the success page come first. */
  olderThanSeconds: number;
  /** At most this many per pass. */
  batch: number;
  /** Aborted when Tally stops: the pass ends after the item in hand, its place kept for the next. */
  stopping?: AbortSignal;
}

/** Asks Stripe about what a lost webhook would have told Tally. */
export interface ReconcilePass {
  /** Names the pass when it fails. */
  name: string;
  run(stopping: AbortSignal): Promise<unknown>;
}

/**
 * A pass's items, one at a time (background work, far inside Stripe's rate limits), until Tally
 * stops: those not reached are asked about when their turn comes again.
 */
export async function oneAtATime<T, R>(items: T[], stopping: AbortSignal | undefined, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) {
    if (stopping?.aborted) break;
    results.push(await each(item));
  }
  return results;
}

/**
 * A failure about one checkout or subscription that would fail the next the same way: Stripe
 * unreachable or rate limiting Tally, or the database not answering. It ends the pass (which fails,
 * said once by BackgroundFailures); the next pass takes the rest up in their turn.
 */
export function endsThePass(error: unknown): boolean {
  return isThirdPartyUnavailable(error) || isDatabaseUnreachable(error);
}

/**
 * The first pass comes this long after the start (or one interval, if that is shorter): a process
 * restarted more often than the interval (rolling deploys, autoscaling) still reconciles, and a start
 * is not slowed by calls to Stripe.
 */
export const FIRST_PASS_AFTER_MS = 30_000;

/**
 * The one timer of the reconciliation with Stripe (CHECKOUT_RECONCILE_INTERVAL_MS; 0 turns it off):
 * each tick runs one pass of each, in order. A pass that fails is logged and does not keep the next
 * from running. Returns a stop that ends the pass in progress after its item in hand, and waits for it.
 */
export function startReconciler(passes: ReconcilePass[], intervalMs: number, logger: Logger, firstPassAfterMs = Math.min(intervalMs, FIRST_PASS_AFTER_MS)): () => Promise<void> {
  if (intervalMs === 0) return async () => {};
  const runs = passes.map((pass) => ({ pass, failures: new BackgroundFailures(logger, pass.name) }));
  const tick = async (stopping: AbortSignal) => {
    for (const { pass, failures } of runs) {
      if (stopping.aborted) return;
      await failures.run(() => pass.run(stopping));
    }
  };
  return startPeriodic(tick, intervalMs, { failed: (error) => logger.error({ err: error }, 'reconciliation with Stripe failed') }, firstPassAfterMs);
}
