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

/**
 * Records what Stripe says of a checkout, in one statement. A fulfilled checkout stays complete and
 * keeps its grant and payment status, whatever older or later view of the session arrives.
 */
export async function recordCheckout(pool: Pool, c: CheckoutState): Promise<{ status: CheckoutState['status']; fulfilledAt: Date | null }> {
  const { rows } = await pool.query<{ status: CheckoutState['status']; fulfilled_at: Date | null }>(
    `INSERT INTO checkouts (id, account_id, kind, pack_id, plan_id, bill_id, quantity, credits, amount_total, currency, url, expires_at,
                            status, payment_status, fulfilled_at, grant_id, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::checkout_status, $14, $15, $16, now())
     ON CONFLICT (id) DO UPDATE SET
       status = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN 'complete'::checkout_status ELSE excluded.status END,
       payment_status = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN checkouts.payment_status ELSE excluded.payment_status END,
       grant_id = CASE WHEN checkouts.fulfilled_at IS NOT NULL THEN checkouts.grant_id ELSE excluded.grant_id END,
       fulfilled_at = coalesce(checkouts.fulfilled_at, excluded.fulfilled_at),
       updated_at = now()
     RETURNING status, fulfilled_at`,
    [c.id, c.accountId, c.kind, c.packId, c.planId, c.billId, c.quantity, c.credits, c.amountTotal, c.currency, c.url, c.expiresAt, c.status, c.paymentStatus, c.fulfilledAt, c.grantId],
  );
  return { status: rows[0].status, fulfilledAt: rows[0].fulfilled_at };
}
