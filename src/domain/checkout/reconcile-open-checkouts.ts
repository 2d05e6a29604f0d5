import type { Pool } from 'pg';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { expireUnknownCheckout, takeOpenCheckoutsDue } from '../../db/checkout-queries.js';
import { NotFoundFailure } from '../../errors.js';
import { endsThePass, oneAtATime, type ReconcileOptions } from '../../stripe/reconciler.js';
import type { Checkouts } from './checkouts.js';

export interface CheckoutReconcilerDependencies {
  pool: Pool;
  checkouts: Checkouts;
  logger: Logger;
}

export interface ReconciledCheckout {
  id: string;
  /** What Tally records after the pass. */
  status: 'open' | 'complete' | 'expired';
  /** True only when this pass made the grant. */
  granted: boolean;
  /** `unknown`: Stripe does not know the session (recorded expired); `failed`: Stripe or the database failed (left open). */
  problem?: 'unknown' | 'failed';
}

/**
 * How long a checkout completed with its payment pending is asked about: Stripe's asynchronous
 * payment methods settle within days (a US bank debit in about 4 business days, a SEPA debit in up to
 * 14). A failed one stays complete and unpaid at Stripe, so it is asked about until then.
 */
export const PENDING_PAYMENT_DAYS = 30;

/**
 * One pass: asks Stripe about the checkouts Tally still records as open, or as complete with the
 * payment pending (`async_payment_succeeded` may have been lost), least recently checked first, and
 * records what the success page's sync would. A paid one is fulfilled through `Checkouts.sync`, so a
 * lost webhook and a closed tab never lose a customer's credits. A failure about one checkout is
 * logged and the pass goes on; Stripe unreachable or rate limiting, or the database gone, ends the
 * pass (endsThePass), and the checkouts it did not reach are asked about in their turn. Passes in two
 * processes may meet the same checkout; that is safe without a lock, because fulfilment is keyed by
 * the session (and the subscription period, and the bill) and grants once however often it is asked.
 */
export async function reconcileOpenCheckouts(deps: CheckoutReconcilerDependencies, { olderThanSeconds, batch, stopping }: ReconcileOptions): Promise<ReconciledCheckout[]> {
  const due = await takeOpenCheckoutsDue(deps.pool, olderThanSeconds, batch, PENDING_PAYMENT_DAYS);
  const results = await oneAtATime(due, stopping, (id) => reconcileCheckout(deps, id));
  const count = (status: ReconciledCheckout['status']) => results.filter((result) => result.status === status).length;
  const granted = results.filter((result) => result.granted).length;
  if (granted || count('expired')) {
    deps.logger.info({ checked: results.length, complete: count('complete'), expired: count('expired'), granted }, 'reconciled open checkouts with Stripe');
  }
  return results;
}

async function reconcileCheckout({ pool, checkouts, logger }: CheckoutReconcilerDependencies, id: string): Promise<ReconciledCheckout> {
  try {
    const synced = await checkouts.sync(id).catch((error) => {
      if (error instanceof NotFoundFailure) return undefined;
      throw error;
    });
    if (synced) return { id, status: synced.status, granted: synced.granted };
    // Stripe refused to retrieve it (resource_missing: made under another key or account), or it
    // carries no Tally metadata: it can never be paid here, and asking again every pass would only
    // crowd out the others. Recorded expired, as superseding does, and so is a bill it collects (which
    // can then be reopened); should a payment of the session reach Tally by webhook after all, that
    // records it complete and grants, as for any checkout.
    await expireUnknownCheckout(pool, id);
    logger.warn({ checkoutSessionId: id }, 'Stripe does not know this open checkout; recorded it (and a bill it collects) expired');
    return { id, status: 'expired', granted: false, problem: 'unknown' };
  } catch (error) {
    if (endsThePass(error)) throw error;
    logger.warn({ err: error, checkoutSessionId: id }, 'could not reconcile an open checkout; a later pass asks again');
    return { id, status: 'open', granted: false, problem: 'failed' };
  }
}
