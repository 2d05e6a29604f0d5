import { compareBurnOrder } from '../ledger/burn-down.js';
import { owedBy } from '../ledger/types.js';
import type { BalanceRow } from '../../db/balance-queries.js';

export interface Balance {
  accountId: string;
  available: number;
  held: number;
  grants: Array<{ id: string; source: string; amount: number; remaining: number; expiresAt: string | null }>;
}

/**
 * The balance at `row.now`, whether or not the expiry entries have been written yet: grants past
 * their expiry count for nothing, and a hold past its expiry gives its credits back to their grants,
 * less what a grant owes revocations (taken as they come back: AccountBook.collect).
 */
export function computeBalance(row: BalanceRow): Balance {
  const now = new Date(row.now).getTime();
  const isLive = (g: { expiresAt: string | null }) => g.expiresAt === null || Date.parse(g.expiresAt) > now;
  const grants = row.grants.map((g) => ({ ...g, amount: Number(g.amount), remaining: Number(g.remaining), owed: owedBy(g) }));
  const byId = new Map(grants.map((g) => [g.id, g]));
  let held = 0;
  for (const hold of row.holds) {
    if (Date.parse(hold.expiresAt) > now) {
      held += Number(hold.amount);
      continue;
    }
    for (const allocation of hold.allocations) {
      const grant = byId.get(allocation.grantId);
      if (!grant) continue;
      const collected = isLive(grant) ? Math.min(allocation.amount, grant.owed) : 0;
      grant.remaining += allocation.amount - collected;
      grant.owed -= collected;
    }
  }
  const live = grants
    .filter((g) => g.remaining > 0 && isLive(g))
    .map((g) => ({ ...g, expiresAtDate: g.expiresAt === null ? null : new Date(g.expiresAt), createdAtDate: new Date(g.createdAt) }))
    .sort((a, b) => compareBurnOrder({ ...a, accountId: '', expiresAt: a.expiresAtDate, createdAt: a.createdAtDate }, { ...b, accountId: '', expiresAt: b.expiresAtDate, createdAt: b.createdAtDate }));
  return {
    accountId: row.id,
    available: live.reduce((sum, g) => sum + g.remaining, 0),
    held,
    grants: live.map((g) => ({ id: g.id, source: g.source, amount: g.amount, remaining: g.remaining, expiresAt: g.expiresAtDate?.toISOString() ?? null })),
  };
}
