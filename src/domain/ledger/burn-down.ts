import type { Allocation, GrantState } from './types.js';

/** Spending order: the grant that expires first; never-expiring grants last; oldest first among equals. */
export function compareBurnOrder(a: GrantState, b: GrantState): number {
  const ax = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const bx = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ax !== bx) return ax < bx ? -1 : 1;
  const ac = a.createdAt.getTime();
  const bc = b.createdAt.getTime();
  if (ac !== bc) return ac - bc;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function isLive(grant: GrantState, now: Date): boolean {
  return grant.expiresAt === null || grant.expiresAt.getTime() > now.getTime();
}

/**
 * Takes `amount` from live grants in burn order. Returns the allocations, or undefined when the
 * grants do not hold enough (nothing is taken then). `grants` must already be in burn order.
 */
export function burnDown(grants: GrantState[], amount: number, now: Date): Allocation[] | undefined {
  const allocations: Allocation[] = [];
  let left = amount;
  for (const grant of grants) {
    if (left === 0) break;
    if (grant.remaining === 0 || !isLive(grant, now)) continue;
    const take = Math.min(grant.remaining, left);
    allocations.push({ grantId: grant.id, amount: take });
    left -= take;
  }
  if (left > 0) return undefined;
  for (const allocation of allocations) {
    const grant = grants.find((g) => g.id === allocation.grantId)!;
    grant.remaining -= allocation.amount;
  }
  return allocations;
}

/** Splits a hold's allocations into the part consumed by a capture of `amount` and the part returned. */
export function splitAllocations(allocations: Allocation[], amount: number): { consumed: Allocation[]; returned: Allocation[] } {
  const consumed: Allocation[] = [];
  const returned: Allocation[] = [];
  let left = amount;
  for (const allocation of allocations) {
    const take = Math.min(allocation.amount, left);
    if (take > 0) consumed.push({ grantId: allocation.grantId, amount: take });
    if (allocation.amount - take > 0) returned.push({ grantId: allocation.grantId, amount: allocation.amount - take });
    left -= take;
  }
  return { consumed, returned };
}
