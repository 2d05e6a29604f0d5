import type { Pool } from 'pg';
import { ConflictFailure } from '../../errors.js';
import { claimKeys, finishClaims, holdAccounts, loadAccounts, lockAccounts, persistChanges } from '../../db/ledger-queries.js';
import { withTransaction } from '../../db/transaction.js';
import { applyCommands } from './apply-commands.js';
import type { Idempotency, LedgerCommand, LedgerResult, Outcome } from './types.js';

export interface LedgerRequest {
  command: LedgerCommand;
  idempotency?: Idempotency;
}

/**
 * Runs a batch of ledger commands as one transaction: lock the accounts, claim the idempotency keys,
 * load, decide in memory (in arrival order), write. Each command keeps its own outcome; a failure of
 * the transaction itself fails them all, and nothing of it is visible.
 */
export async function runLedgerBatch(pool: Pool, requests: LedgerRequest[], newId: (prefix: string) => string): Promise<Outcome[]> {
  return withTransaction(pool, async (client) => {
    const outcomes: Array<Outcome | undefined> = new Array(requests.length);
    const holdIds = requests.flatMap((r) => ('holdId' in r.command ? [r.command.holdId] : []));
    const holdMap = await holdAccounts(client, holdIds);
    const accountIds = [...new Set(requests.flatMap((r) => ('accountId' in r.command ? [r.command.accountId] : holdMap.has(r.command.holdId) ? [holdMap.get(r.command.holdId)!] : [])))].sort();
    const locked = await lockAccounts(client, accountIds);

    // Idempotency: the first request with a key claims it; later ones in this batch follow its outcome.
    const leaders = new Map<string, number>();
    const followers: Array<[number, number]> = [];
    requests.forEach((r, i) => {
      if (!r.idempotency) return;
      const leader = leaders.get(r.idempotency.key);
      if (leader === undefined) leaders.set(r.idempotency.key, i);
      else followers.push([i, leader]);
    });
    const existing = await claimKeys(client, [...leaders.values()].map((i) => requests[i].idempotency!));
    for (const [key, i] of leaders) {
      const stored = existing.get(key);
      if (stored) outcomes[i] = replay(requests[i].idempotency!, stored);
    }
    const toRun = requests.map((r, i) => (outcomes[i] || followers.some(([f]) => f === i) ? undefined : r.command));

    const sourceKeys = toRun.flatMap((c) => (c?.type === 'grant' && c.sourceKey ? [c.sourceKey] : []));
    const loaded = await loadAccounts(client, [...locked], sourceKeys, holdIds);
    const { computed, changes } = applyCommands(toRun, { now: loaded.now, accounts: loaded.accounts, holdAccounts: holdMap, grantedSourceKeys: loaded.granted }, newId);
    const entryIds = await persistChanges(client, changes);
    computed.forEach((c, i) => {
      if (!c) return;
      if (c.outcome.ok && c.entryIndex !== undefined && 'entryId' in c.outcome.value) c.outcome.value.entryId = entryIds[c.entryIndex];
      outcomes[i] = c.outcome;
    });
    for (const [i, leader] of followers) outcomes[i] = follow(requests[i].idempotency!, requests[leader].idempotency!, outcomes[leader]!);

    const stored: Array<{ key: string; result: unknown }> = [];
    const dropped: string[] = [];
    for (const [key, i] of leaders) {
      if (existing.has(key)) continue;
      const outcome = outcomes[i]!;
      if (outcome.ok) stored.push({ key, result: outcome.value });
      else dropped.push(key); // a refused command writes nothing, not even its key: a retry may succeed
    }
    await finishClaims(client, stored, dropped);
    return outcomes as Outcome[];
  });
}

function replay(request: Idempotency, stored: { operation: string; fingerprint: string; result: unknown }): Outcome {
  if (stored.operation !== request.operation || stored.fingerprint !== request.fingerprint) return reused(request.key);
  return { ok: true, value: stored.result as LedgerResult, replayed: true };
}

function follow(request: Idempotency, leader: Idempotency, outcome: Outcome): Outcome {
  if (request.operation !== leader.operation || request.fingerprint !== leader.fingerprint) return reused(request.key);
  return outcome.ok ? { ...outcome, replayed: true } : outcome;
}

function reused(key: string): Outcome {
  return {
    ok: false,
    error: new ConflictFailure('idempotency_key_reused', `Idempotency-Key '${key}' was already used with a different request`, { idempotencyKey: key }),
  };
}
