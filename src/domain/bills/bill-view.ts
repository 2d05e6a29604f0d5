import type { PrismaClient } from '../../db/client.js';

export type BillRow = Awaited<ReturnType<PrismaClient['bill']['findUniqueOrThrow']>>;

export interface BillView {
  id: string;
  accountId: string;
  name: string;
  description: string | null;
  amount: number;
  currency: string;
  credits: number | null;
  status: 'open' | 'paid' | 'expired' | 'canceled';
  /** Where to pay, while the bill is open. */
  url: string | null;
  expiresAt: string;
  checkoutSessionId: string;
  paidAt: string | null;
  canceledAt: string | null;
  grantId: string | null;
  createdAt: string;
  updatedAt: string;
}

export function billView(row: BillRow): BillView {
  return {
    id: row.id,
    accountId: row.accountId,
    name: row.name,
    description: row.description,
    amount: row.amount,
    currency: row.currency,
    credits: row.credits === null ? null : Number(row.credits),
    status: row.status,
    url: row.status === 'open' ? row.url : null,
    expiresAt: row.expiresAt.toISOString(),
    checkoutSessionId: row.stripeCheckoutSessionId,
    paidAt: row.paidAt?.toISOString() ?? null,
    canceledAt: row.canceledAt?.toISOString() ?? null,
    grantId: row.grantId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
