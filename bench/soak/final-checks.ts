import type pg from 'pg';
import type { SoakContext } from './ledger-operations.js';

interface Entry {
  id: string;
  accountId: string;
  kind: string;
  amount: number;
  heldChange: number;
  availableAfter: number;
  heldAfter: number;
  holdId: string | null;
  metadata: Record<string, unknown> | null;
}

/**
 * Once everything has settled: each account's balance, as every process reads it, is what it read
 * before the sweeper wrote the last expiries (`unswept`), and is the sum of its
 * ledger (read through the API) and of its grants' remaining credits, with nothing held or owed;
 * every entry states the balances its predecessors sum to, none below zero; every acknowledged
 * spend and capture is in the ledger once, and no other; every hold is placed once and settled once, as it was
 * acknowledged, and reads so.
 */
export async function checkFinalState(ctx: SoakContext, pool: pg.Pool, unswept: Map<string, unknown>): Promise<void> {
  const { journal } = ctx;
  const entries = new Map<string, Entry>();
  for (const account of ctx.accounts) {
    const ledger = await readLedger(ctx, account);
    for (const entry of ledger) {
      if (entries.has(entry.id)) journal.violation(`entry ${entry.id} listed twice`);
      entries.set(entry.id, entry);
    }
    const balances = await Promise.all(ctx.admins.map(async (client) => (await client.expect(200, 'GET', `/v1/accounts/${account}/balance`)).body));
    const balance = balances[0];
    if (JSON.stringify(unswept.get(account)) !== JSON.stringify(balance)) journal.violation(`${account}: read once everything had expired ${JSON.stringify(unswept.get(account))}, once swept ${JSON.stringify(balance)}`);
    if (balances.some((b) => b.available !== balance.available || b.held !== balance.held)) journal.violation(`${account}: the processes read different balances: ${JSON.stringify(balances)}`);
    let available = 0;
    let held = 0;
    for (const entry of ledger.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)))) {
      available += entry.amount;
      held += entry.heldChange;
      if (entry.availableAfter !== available || entry.heldAfter !== held || available < 0 || held < 0) {
        journal.violation(`${account}: entry ${entry.id} (${entry.kind}) states ${entry.availableAfter}/${entry.heldAfter}, its predecessors sum to ${available}/${held}`);
        available = entry.availableAfter;
        held = entry.heldAfter;
      }
    }
    const { rows } = await pool.query(
      `SELECT coalesce(sum(remaining), 0)::bigint AS remaining,
              coalesce((SELECT sum((d->>'owed')::bigint) FROM grants g, jsonb_array_elements(g.debts) d WHERE g.account_id = $1), 0)::bigint AS owed
       FROM grants WHERE account_id = $1`,
      [account],
    );
    const grantsRemaining = balance.grants.reduce((sum: number, g: { remaining: number }) => sum + g.remaining, 0);
    const found = { balance: [balance.available, balance.held], ledger: [available, held], grants: Number(rows[0].remaining), balanceGrants: grantsRemaining, owed: Number(rows[0].owed) };
    const wanted = { balance: [available, 0], ledger: [available, 0], grants: available, balanceGrants: available, owed: 0 };
    if (JSON.stringify(found) !== JSON.stringify(wanted)) journal.violation(`${account}: ${JSON.stringify(found)}, wanted ${JSON.stringify(wanted)}`);
  }

  // How often revocations met held credits, collected them, and were undone: what the soak exercised.
  for (const entry of entries.values()) {
    const meta = entry.metadata ?? {};
    if (entry.kind !== 'adjustment') continue;
    if (Number(meta.owed) > 0) journal.count('ledger: revocation owed held credits');
    else if (meta.revoked !== undefined) journal.count('ledger: revocation');
    if (Number(meta.collected) > 0) journal.count('ledger: collection');
    if (meta.restored !== undefined) journal.count('ledger: restoration');
  }
  for (const [entryId, spend] of journal.spends) {
    const entry = entries.get(entryId);
    if (!entry || entry.kind !== 'spend' || entry.accountId !== spend.accountId || entry.amount !== -spend.amount) journal.violation(`acknowledged spend ${entryId} (${JSON.stringify(spend)}) is ${JSON.stringify(entry)} in the ledger`);
  }
  const spendEntries = [...entries.values()].filter((e) => e.kind === 'spend');
  if (spendEntries.length !== journal.spends.size) journal.violation(`${spendEntries.length} spend entries in the ledger, ${journal.spends.size} spends acknowledged`);
  const capturesAcknowledged = [...journal.holds.values()].filter((h) => h.captured).length;
  const captureEntries = [...entries.values()].filter((e) => e.kind === 'capture').length;
  if (captureEntries !== capturesAcknowledged) journal.violation(`${captureEntries} capture entries in the ledger, ${capturesAcknowledged} captures acknowledged`);
  const byHold = new Map<string, Entry[]>();
  for (const entry of entries.values()) if (entry.holdId) byHold.set(entry.holdId, [...(byHold.get(entry.holdId) ?? []), entry]);
  for (const [holdId, list] of byHold) {
    const kinds = list.map((e) => e.kind);
    const closings = kinds.filter((kind) => kind === 'capture' || kind === 'release').length;
    if (kinds.length !== 2 || !kinds.includes('hold') || closings !== 1) journal.violation(`hold ${holdId}: entries ${kinds.join(', ')}, wanted a hold and one capture or release`);
  }
  for (const hold of journal.holds.values()) {
    const list = byHold.get(hold.id) ?? [];
    const settlement = hold.captured ?? hold.released;
    const entry = settlement && entries.get(settlement.entryId);
    if (settlement && (!entry || entry.holdId !== hold.id || entry.kind !== (hold.captured ? 'capture' : 'release'))) {
      journal.violation(`hold ${hold.id} acknowledged ${hold.captured ? 'captured' : 'released'} (entry ${settlement.entryId}), the ledger says ${JSON.stringify(list)}`);
    }
    if (hold.captured && entry && entry.metadata?.captured !== hold.captured.amount) journal.violation(`hold ${hold.id} captured ${hold.captured.amount}, the ledger says ${JSON.stringify(entry)}`);
    if (list.length === 0) journal.violation(`acknowledged hold ${hold.id} is not in the ledger`);
  }
  // As GET /v1/holds/{id} reads them (the first 500: a read each).
  for (const hold of [...journal.holds.values()].slice(0, 500)) {
    const read = (await ctx.admins[0].expect(200, 'GET', `/v1/holds/${hold.id}`)).body;
    const wanted = hold.captured ? { status: 'captured', capturedAmount: hold.captured.amount } : { status: hold.released ? 'released' : 'expired', capturedAmount: null };
    if (read.status !== wanted.status || read.capturedAmount !== wanted.capturedAmount || read.settledAt === null) journal.violation(`hold ${hold.id} reads ${JSON.stringify(read)}, wanted ${JSON.stringify(wanted)}`);
  }
}

async function readLedger(ctx: SoakContext, account: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor: string | null = null;
  do {
    const page = await ctx.admins[0].expect(200, 'GET', `/v1/accounts/${account}/ledger?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    entries.push(...page.body.data);
    cursor = page.body.nextCursor;
  } while (cursor);
  return entries;
}
