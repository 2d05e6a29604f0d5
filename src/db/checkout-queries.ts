import type { Pool } from 'pg';

export interface CheckoutState {
  id: string;
  accountId: string;
  kind: string;
  packId: string | null;
  planId: string | null;
  billId: string | null;
  quantity: number;
  credits: number;
  amountTotal: number | null;
  currency: string | null;
  url: string | null;
  expiresAt: Date | null;
  status: 'open' | 'complete' | 'expired';
  paymentStatus: string;
  fulfilledAt: Date | null;
  grantId: string | null;
}

export interface RecordedCheckout {
  status: CheckoutState['status'];
  fulfilledAt: Date | null;
}

/**
 * Records what Stripe says of several checkouts, one statement for each time a session recurs in
 * the list (an upsert may touch a row once), in order. A fulfilled checkout stays complete and keeps
 * its grant and payment status, whatever older or later view of the session arrives; and a session
 * recorded complete or expired is never recorded open again (Stripe's sessions never go back), when a
 * view read before the change (the success page's or the reconciler's) is written after it. What a completed
 * session charged is recorded over what it was opened for (a promotion code lowers it on Stripe's
 * page), until the checkout is fulfilled: refunds and disputes take credits back in proportion to it.
 */
export async function recordCheckouts(pool: Pool, checkouts: CheckoutState[]): Promise<RecordedCheckout[]> {
  const results = new Array<RecordedCheckout>(checkouts.length);
  for (const round of roundsOfDistinctIds(checkouts)) {
    const recorded = await upsertCheckouts(pool, round.map((i) => checkouts[i]));
    for (const i of round) results[i] = recorded.get(checkouts[i].id)!;
  }
  return results;
}

async function upsertCheckouts(pool: Pool, c: CheckoutState[]): Promise<Map<string, RecordedCheckout>> {
  const column = <K extends keyof CheckoutState>(key: K) => c.map((row) => row[key]);
  const { rows } = await pool.query<{ id: string; status: CheckoutState['status']; fulfilled_at: Date | null }>(
    `INSERT INTO checkouts (id, account_id, kind, pack_id, plan_id, bill_id, quantity, credits, amount_total, currency, url, expires_at,
                            status, payment_status, fulfilled_at, grant_id, updated_at)
     SELECT id, account_id, kind, pack_id, plan_id, bill_id, quantity, credits, amount_total, currency, url, expires_at,
            status::checkout_status, payment_status, fulfilled_at, grant_id, now()
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[], $9::int[], $10::text[], $11::text[],
                 $12::timestamptz[], $13::text[], $14::text[], $15::timestamptz[], $16::text[])
       AS c(id, account_id, kind, pack_id, plan_id, bill_id, quantity, credits, amount_total, currency, url, expires_at, status, payment_status, fulfilled_at, grant_id)
     ON CONFLICT (id) DO UPDATE SET
       status = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN 'complete'::checkout_status
                     WHEN excluded.status = 'open' THEN checkouts.status ELSE excluded.status END,
       payment_status = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN checkouts.payment_status ELSE excluded.payment_status END,
       grant_id = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN checkouts.grant_id ELSE excluded.grant_id END,
       fulfilled_at = coalesce(checkouts.fulfilled_at, excluded.fulfilled_at),
       amount_total = CASE WHEN checkouts.fulfilled_at IS NULL AND excluded.status = 'complete' THEN excluded.amount_total ELSE checkouts.amount_total END,
       currency = CASE WHEN checkouts.fulfilled_at IS NULL AND excluded.status = 'complete' THEN excluded.currency ELSE checkouts.currency END,
       updated_at = now()
     RETURNING id, status, fulfilled_at`,
    [
      column('id'), column('accountId'), column('kind'), column('packId'), column('planId'), column('billId'), column('quantity'), column('credits'),
      column('amountTotal'), column('currency'), column('url'), column('expiresAt'), column('status'), column('paymentStatus'), column('fulfilledAt'), column('grantId'),
    ],
  );
  return new Map(rows.map((row) => [row.id, { status: row.status, fulfilledAt: row.fulfilled_at }]));
}

/** Indexes of the list in rounds, each naming a session at most once, arrival order kept within a session. */
function roundsOfDistinctIds(checkouts: CheckoutState[]): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  checkouts.forEach((c, i) => {
    const round = seen.get(c.id) ?? 0;
    seen.set(c.id, round + 1);
    (rounds[round] ??= []).push(i);
  });
  return rounds;
}

/**
 * The checkouts whose payment Tally may not have heard of, created more than `olderThanSeconds` ago:
 * those still open, and those complete with the payment still pending (an asynchronous payment
 * method such as a bank debit, whose outcome comes days later) for at most `pendingForDays`. Those
 * looked at (or changed) least recently come first, at most `limit`, and are moved to the back of that
 * order in the same statement: a pass that finds some of them unchanged, or cannot reach Stripe about
 * them, does not meet the same few next time. Walks the two partial indexes by `updated_at`.
 */
export async function takeOpenCheckoutsDue(pool: Pool, olderThanSeconds: number, limit: number, pendingForDays: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH due AS (
       (SELECT id, updated_at FROM checkouts
        WHERE status = 'open' AND created_at <= now() - make_interval(secs => $1)
        ORDER BY updated_at, id LIMIT $2)
       UNION ALL
       (SELECT id, updated_at FROM checkouts
        WHERE status = 'complete' AND fulfilled_at IS NULL AND payment_status = 'unpaid'
          AND created_at <= now() - make_interval(secs => $1) AND created_at > now() - make_interval(days => $3)
        ORDER BY updated_at, id LIMIT $2)
       ORDER BY updated_at, id
       LIMIT $2
     ), taken AS (
       UPDATE checkouts SET updated_at = now() FROM due WHERE checkouts.id = due.id
       RETURNING checkouts.id, due.updated_at AS checked_before
     )
     SELECT id FROM taken ORDER BY checked_before, id`,
    [olderThanSeconds, limit, pendingForDays],
  );
  return rows.map((row) => row.id);
}

/**
 * Records a checkout Stripe does not know (made under another key or account) as expired, unless
 * something recorded it otherwise meanwhile, and with it the bill it collects, while it is still that
 * bill's checkout: the bill can then be reopened or canceled, as one whose checkout expired. One
 * statement (both updates run to completion, whether their rows are read or not), so neither is
 * recorded without the other.
 */
export async function expireUnknownCheckout(pool: Pool, id: string): Promise<void> {
  await pool.query(
    `WITH checkout AS (
       UPDATE checkouts SET status = 'expired', updated_at = now() WHERE id = $1 AND status = 'open'
     )
     UPDATE bills SET status = 'expired', updated_at = now() WHERE stripe_checkout_session_id = $1 AND status = 'open'`,
    [id],
  );
}
