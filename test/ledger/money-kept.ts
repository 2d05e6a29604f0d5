import { ledgerSum, type TestApp } from '../helper.js';

// The ledger's books, checked from the rows alone: no credit appears or disappears, and no balance
// goes below zero. For the tests of refunds and disputes that find credits held (held-debts.test.ts).

interface Asserts {
  same(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
}

type Allocation = { grantId: string; amount: number };
type Debt = { revocationKey: string; owed: number; collected: number };

/** Where each grant's credits are, as the entries and holds tell it. */
interface Flows {
  granted: number;
  held: number;
  spent: number;
  taken: number;
  collected: number;
  expired: number;
  restored: number;
}

const noFlows = (): Flows => ({ granted: 0, held: 0, spent: 0, taken: 0, collected: 0, expired: 0, restored: 0 });

/**
 * Checks the account as the sweeper would leave it, and returns its balance as read before:
 * - the balance read (GET balance) is what the ledger sums to once what is due is settled (an
 *   expired, unsettled hold counts as released, and as collected where its grant owes), and reads
 *   the same after;
 * - every entry states the balances its predecessors sum to, none below zero;
 * - for every grant: granted = remaining + held + spent (spends, captures) + taken + collected +
 *   expired - restored, remaining >= 0;
 * - each debt's `collected` is what the collection entries name for its revocation, nothing is owed
 *   past what the grant's active holds hold, and a restored revocation is owed nothing.
 */
export async function moneyKept(t: Asserts, ctx: TestApp, accountId: string): Promise<{ available: number; held: number }> {
  const { read, sum, again } = await readSettleRead(ctx, accountId);
  t.same(sum, { available: read.available, held: read.held }, `${accountId}: the balance read is what the ledger sums to once settled`);
  t.same({ available: again.available, held: again.held }, { available: read.available, held: read.held }, `${accountId}: settling changes no balance read`);

  const { rows: entries } = await ctx.database.pool.query(
    'SELECT kind, amount, held_change, available_after, held_after, grant_id, allocations, metadata FROM ledger_entries WHERE account_id = $1 ORDER BY id',
    [accountId],
  );
  const flows = new Map<string, Flows>();
  const flowOf = (grantId: string) => flows.get(grantId) ?? flows.set(grantId, noFlows()).get(grantId)!;
  const add = (allocations: Allocation[] | null, field: keyof Flows) => {
    for (const a of allocations ?? []) flowOf(a.grantId)[field] += a.amount;
  };
  const collectedFor = new Map<string, number>();
  let available = 0;
  let held = 0;
  const broken: unknown[] = [];
  for (const entry of entries) {
    available += Number(entry.amount);
    held += Number(entry.held_change);
    if (available !== Number(entry.available_after) || held !== Number(entry.held_after) || available < 0 || held < 0) broken.push(entry);
    const metadata = entry.metadata ?? {};
    if (entry.kind === 'grant') flowOf(entry.grant_id).granted += Number(entry.amount);
    else if (entry.kind === 'spend' || entry.kind === 'capture') add(entry.allocations, 'spent');
    else if (entry.kind === 'expiry') add(entry.allocations, 'expired');
    else if (entry.kind === 'adjustment' && 'restored' in metadata) add(entry.allocations, 'restored');
    else if (entry.kind === 'adjustment' && 'collected' in metadata) {
      add(entry.allocations, 'collected');
      for (const c of metadata.collectedFor) collectedFor.set(c.revocationKey, (collectedFor.get(c.revocationKey) ?? 0) + c.credits);
    } else if (entry.kind === 'adjustment') add(entry.allocations, 'taken');
  }
  t.same(broken, [], `${accountId}: every entry states the balances its predecessors sum to, none below zero`);

  const { rows: holds } = await ctx.database.pool.query("SELECT allocations FROM holds WHERE account_id = $1 AND status = 'active'", [accountId]);
  for (const hold of holds) add(hold.allocations, 'held');
  const restoredKeys = new Set(entries.flatMap((e) => (e.kind === 'adjustment' && e.metadata?.restores ? [e.metadata.restores] : [])));
  const { rows: grants } = await ctx.database.pool.query('SELECT id, amount, remaining, debts FROM grants WHERE account_id = $1 ORDER BY created_at, id', [accountId]);
  for (const grant of grants) {
    const f = flowOf(grant.id);
    const remaining = Number(grant.remaining);
    t.same(
      { granted: f.granted, accounted: remaining + f.held + f.spent + f.taken + f.collected + f.expired - f.restored, remainingAtLeastZero: remaining >= 0 },
      { granted: Number(grant.amount), accounted: Number(grant.amount), remainingAtLeastZero: true },
      `${grant.id}: granted = remaining ${remaining} + held ${f.held} + spent ${f.spent} + taken ${f.taken} + collected ${f.collected} + expired ${f.expired} - restored ${f.restored}`,
    );
    const debts = grant.debts as Debt[];
    const owed = debts.reduce((total, d) => total + d.owed, 0);
    t.ok(owed <= f.held && debts.every((d) => d.owed >= 0), `${grant.id}: owes ${owed}, no more than its active holds hold (${f.held})`);
    t.same(
      debts.map((d) => [d.revocationKey, d.collected]),
      debts.map((d) => [d.revocationKey, collectedFor.get(d.revocationKey) ?? 0]),
      `${grant.id}: each debt has collected what the collection entries name for it`,
    );
    t.same(debts.filter((d) => restoredKeys.has(d.revocationKey)), [], `${grant.id}: a restored revocation is owed nothing`);
  }
  return { available: read.available, held: read.held };
}

type BalanceRead = { available: number; held: number };

/**
 * The balance read, the account settled, and the balance read again, with no hold or grant of the
 * account reaching its expiry in between: one that expires between the two reads is active to the
 * first and expired to the second, and both are right (a slow machine widens that gap to a second).
 * Such a reading is taken again; the next one starts after that expiry.
 */
async function readSettleRead(ctx: TestApp, accountId: string): Promise<{ read: BalanceRead; sum: { available: number; held: number }; again: BalanceRead }> {
  for (;;) {
    const from = new Date();
    const read = (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body as BalanceRead;
    await ctx.app.ledger.settle(accountId);
    const sum = await ledgerSum(ctx.database, accountId);
    const again = (await ctx.call('GET', `/v1/accounts/${accountId}/balance`)).body as BalanceRead;
    const until = new Date();
    const { rows } = await ctx.database.pool.query(
      `SELECT (SELECT count(*) FROM holds WHERE account_id = $1 AND expires_at > $2 AND expires_at <= $3)
            + (SELECT count(*) FROM grants WHERE account_id = $1 AND expires_at > $2 AND expires_at <= $3) AS n`,
      [accountId, from, until],
    );
    if (Number(rows[0].n) === 0) return { read, sum: { available: Number(sum.available), held: Number(sum.held) }, again };
  }
}
