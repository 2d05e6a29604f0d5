import { ConflictFailure } from '../../errors.js';
import type { ConnectionSource } from '../../db/held-connections.js';
import { openBatch, writeAndCommit, type StoredClaim } from '../../db/ledger-queries.js';
import { applyCommands } from './apply-commands.js';
import { restorationKeyOf, type Idempotency, type LedgerCommand, type LedgerResult, type Outcome } from './types.js';

export interface LedgerRequest {
  command: LedgerCommand;
  idempotency?: Idempotency;
}

/**
 * Runs a batch of ledger commands as one transaction: lock the accounts, load (with the idempotency
 * records of their keys), decide in memory (in arrival order), write. Each command keeps its own outcome; a failure of
 * the transaction itself fails them all, and nothing of it is visible.
 */
export async function runLedgerBatch(connections: ConnectionSource, requests: LedgerRequest[], newId: (prefix: string) => string): Promise<Outcome[]> {
  const acquired = connections.acquire();
  const client = acquired instanceof Promise ? await acquired : acquired;
  let broken = false;
  try {
    const holdIds = requests.flatMap((r) => ('holdId' in r.command ? [r.command.holdId] : []));
    const accountIds = [...new Set(requests.flatMap((r) => ('accountId' in r.command ? [r.command.accountId] : [])))];

    // The first request with a key leads; later ones in this batch follow its outcome.
    const leaders = new Map<string, number>();
    const followers = new Map<number, number>();
    requests.forEach((r, i) => {
      if (!r.idempotency) return;
      const leader = leaders.get(r.idempotency.key);
      if (leader === undefined) leaders.set(r.idempotency.key, i);
      else followers.set(i, leader);
    });
    const sourceKeys = requests.flatMap((r) => (r.command.type === 'grant' && r.command.sourceKey ? [r.command.sourceKey] : []));
    // A revocation and its restoration each look for both keys; a restoration also needs its grant, however little is left of it.
    const revocationKeys = requests.flatMap((r) => (r.command.type === 'revoke' || r.command.type === 'restore' ? [r.command.revocationKey, restorationKeyOf(r.command.revocationKey)] : []));
    const restoredGrantIds = requests.flatMap((r) => (r.command.type === 'restore' ? [r.command.grantId] : []));
    const loaded = await openBatch(client, [...leaders.keys()], accountIds, sourceKeys, holdIds, revocationKeys, restoredGrantIds);

    const outcomes: Array<Outcome | undefined> = new Array(requests.length);
    for (const [key, i] of leaders) {
      const stored = loaded.existing.get(key);
      if (stored) outcomes[i] = replay(requests[i].idempotency!, stored);
    }
    const toRun = requests.map((r, i) => (outcomes[i] || followers.has(i) ? undefined : r.command));
    const { computed, changes } = applyCommands(toRun, { now: loaded.now, accounts: loaded.accounts, holdAccounts: loaded.holdAccounts, grantedSourceKeys: loaded.granted, revocations: loaded.revocations }, newId);

    // A refused command writes nothing, not even its key: a retry may succeed.
    const stored = [...leaders].flatMap(([key, i]) => {
      const c = computed[i];
      if (!c?.outcome.ok) return [];
      const { operation, fingerprint } = requests[i].idempotency!;
      return [{ key, operation, fingerprint, result: c.outcome.value, entryIndex: 'entryId' in c.outcome.value ? c.entryIndex : undefined }];
    });
    const entryIds = await writeAndCommit(client, changes, stored);

    computed.forEach((c, i) => {
      if (!c) return;
      if (c.outcome.ok && c.entryIndex !== undefined && 'entryId' in c.outcome.value) c.outcome.value.entryId = entryIds[c.entryIndex];
      outcomes[i] = c.outcome;
    });
    for (const [i, leader] of followers) outcomes[i] = follow(requests[i].idempotency!, requests[leader].idempotency!, outcomes[leader]!);
    return outcomes as Outcome[];
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection that cannot even roll back is dropped rather than handed to the next caller.
    connections.release(client, broken);
  }
}

function replay(request: Idempotency, stored: StoredClaim): Outcome {
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
