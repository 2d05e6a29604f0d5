import type { Pool } from 'pg';
import type { SubscriptionStatus } from '../domain/subscriptions/read-subscription-state.js';

export interface SubscriptionDue {
  stripeSubscriptionId: string;
  status: SubscriptionStatus;
  /** Stripe's `created` of the state Tally holds: a copy fetched now is at least as new. */
  stateAt: number;
}

/**
 * The live subscriptions Tally may have missed a paid renewal of, that were looked at (or changed)
 * least recently, at most `limit`, moved to the back of that order in the same statement: a pass that
 * finds some not yet renewed or paid at Stripe, or cannot reach Stripe about them, does not meet the
 * same few next time. Due is either
 * - a recorded period that ended more than `endedSecondsAgo` ago: Tally has not heard of the renewal
 *   at all (the status list is isLive's, written as the partial index
 *   subscriptions_live_period_end_idx is, so that the index serves); or
 * - an active subscription to one of Tally's plans whose recorded current period has no credits yet,
 *   though it started more than `uncreditedStartedSecondsAgo` ago: Tally heard of the new period
 *   (customer.subscription.updated) but not of its payment. Active means Stripe has not reported the
 *   renewal's payment failing (that makes it past_due).
 */
export async function takeLiveSubscriptionsDue(
  pool: Pool,
  { endedSecondsAgo, uncreditedStartedSecondsAgo }: { endedSecondsAgo: number; uncreditedStartedSecondsAgo: number },
  limit: number,
): Promise<SubscriptionDue[]> {
  const { rows } = await pool.query<{ stripe_subscription_id: string; status: SubscriptionStatus; state_at: number }>(
    `WITH due AS (
       SELECT id, updated_at FROM subscriptions
       WHERE status IN ('active', 'trialing', 'past_due', 'unpaid', 'paused') AND current_period_end <= now() - make_interval(secs => $1)
       UNION
       SELECT id, updated_at FROM subscriptions s
       WHERE status = 'active' AND plan_id IS NOT NULL AND current_period_start <= now() - make_interval(secs => $3)
         AND NOT EXISTS (SELECT 1 FROM subscription_grants g
                         WHERE g.stripe_subscription_id = s.stripe_subscription_id AND g.period_end = s.current_period_end)
       ORDER BY updated_at, id
       LIMIT $2
     ), taken AS (
       UPDATE subscriptions SET updated_at = now() FROM due WHERE subscriptions.id = due.id
       RETURNING subscriptions.id, subscriptions.stripe_subscription_id, subscriptions.status, subscriptions.state_at, due.updated_at AS checked_before
     )
     SELECT stripe_subscription_id, status, state_at FROM taken ORDER BY checked_before, id`,
    [endedSecondsAgo, limit, uncreditedStartedSecondsAgo],
  );
  return rows.map((row) => ({ stripeSubscriptionId: row.stripe_subscription_id, status: row.status, stateAt: row.state_at }));
}
