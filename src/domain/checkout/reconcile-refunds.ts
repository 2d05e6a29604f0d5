import type { Pool } from 'pg';
import type Stripe from 'stripe';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isDatabaseRefusalForNow } from '../../db/database-unreachable.js';
import { advanceCursor, cursorWindow } from '../../db/reconciler-cursors.js';
import { StripeRefusedFailure, ThirdPartyFailure } from '../../errors.js';
import { callStripe } from '../../stripe/call-stripe.js';
import { endsThePass, type ReconcileOptions } from '../../stripe/reconciler.js';
import { refundsOldestFirst, type PaymentReversals } from './payment-reversals.js';

export interface RefundReconcilerDependencies {
  pool: Pool;
  stripe: Stripe;
  reversals: PaymentReversals;
  logger: Logger;
}

const CURSOR = 'refunds';

export interface ReconciledRefunds {
  /** Charges handed to the `charge.refunded` path. */
  charges: string[];
  /** Charges whose handling failed in a way a later pass would meet again: logged as errors, passed over. */
  skipped: string[];
  /** The charge at which Stripe or the database failed; it and what came after it wait for the next pass. */
  failed?: string;
}

/**
 * One pass: the refunds Stripe made since the last pass (the first looks back three days), older
 * than `olderThanSeconds` (the webhook comes first), oldest first, at most `batch` charges, each
 * handed to the very path of `charge.refunded`. So a refund whose webhook never arrived still takes
 * its credits back, once: every revocation is keyed by its refund. A cursor in the database keeps the
 * place (Stripe's `created` of the newest refund read), moved past a charge once it was handled, or
 * once its handling failed in a way that asking again would not change (stopsThePass): that is logged
 * as an error and the pass goes on, so that one refund cannot hold back every later one for good.
 */
export async function reconcileRefunds(deps: RefundReconcilerDependencies, { olderThanSeconds, batch, stopping }: ReconcileOptions): Promise<ReconciledRefunds> {
  const window = await cursorWindow(deps.pool, CURSOR, olderThanSeconds);
  if (!window) return { charges: [], skipped: [] };
  const { from, until } = window;
  const refunds = await refundsOldestFirst(deps.stripe, { created: { gte: from, lte: until } }, 'list refunds');
  const charges: string[] = [];
  const skipped: string[] = [];
  // The cursor moves only to a time Stripe stamped: to the newest refund read, not to `until`, which
  // Tally's clock sets (one that ran ahead of Stripe's, or jumped, would carry it past refunds not
  // made yet, never read then). That refund's second stays in the next window: a refund made later in
  // that same second would otherwise be passed over. Meeting a refund twice costs a look, never a
  // second revocation.
  let position = refunds.at(-1)?.created ?? from;
  for (const refund of refunds) {
    const chargeId = typeof refund.charge === 'string' ? refund.charge : refund.charge?.id;
    if (!chargeId || charges.includes(chargeId) || skipped.includes(chargeId)) continue;
    if (charges.length + skipped.length === batch || stopping?.aborted) {
      position = refund.created;
      break;
    }
    try {
      const charge = await callStripe('retrieve a refunded charge', () => deps.stripe.charges.retrieve(chargeId));
      await deps.reversals.onChargeRefunded(charge);
      charges.push(chargeId);
    } catch (error) {
      if (stopsThePass(error)) {
        deps.logger.warn({ err: error, chargeId, refundId: refund.id }, 'could not reconcile a refund; the next pass asks again');
        await advanceCursor(deps.pool, CURSOR, refund.created);
        return { charges, skipped, failed: chargeId };
      }
      deps.logger.error({ err: error, chargeId, refundId: refund.id }, 'could not reconcile a refund; passed over, no later pass asks again');
      skipped.push(chargeId);
    }
  }
  await advanceCursor(deps.pool, CURSOR, position);
  return { charges, skipped };
}

/**
 * A failure that keeps the charge for the next pass: what would fail the next charge too (Stripe
 * unreachable or rate limiting, the database not answering), any other failure of Stripe's (a 5xx,
 * the key refused), which a later pass may not meet, and the database refusing for now (a deadlock, a
 * lock not to be had). Unlike the checkout and renewal reconcilers, whose queues bring an item back, a
 * cursor moved past a refund never reads it again. Stripe refusing the request as invalid, or Tally's
 * own handling failing otherwise, would fail again the same way: passed over.
 */
function stopsThePass(error: unknown): boolean {
  return endsThePass(error) || isDatabaseRefusalForNow(error) || (error instanceof ThirdPartyFailure && !(error instanceof StripeRefusedFailure));
}
