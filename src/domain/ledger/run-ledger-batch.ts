import type { PoolClient } from 'pg';
import { KeyReusedFailure } from '../../errors.js';
import { isDatabaseUnreachable } from '../../db/database-unreachable.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import type { ConnectionSource } from '../../db/held-connections.js';
import { checkWriteAndCommit, openBatch, writeAndCommit, type StoredClaim, type StoredResult } from '../../db/ledger-queries.js';
import { EXPIRY_MARGIN_MS, type AccountCache, type CachedAccounts } from './account-cache.js';
import type { BookChanges } from './account-book.js';
import { applyCommands, type Computed } from './apply-commands.js';
import { restorationKeyOf, type AccountState, type Idempotency, type LedgerCommand, type LedgerResult, type Outcome } from './types.js';

export interface LedgerRequest {
  command: LedgerCommand;
  idempotency?: Idempotency;
}

/**
 * Runs a batch of ledger commands as one transaction: lock the accounts, load (with the idempotency
 * records of their keys), decide in memory (in arrival order), write. Each command keeps its own outcome; a failure of
 * the transaction itself fails them all, and nothing of it is visible.
 *
 * With a cache, a batch of spends, holds, captures and releases on accounts it keeps is first
 * decided on their kept states and written in one round trip (runOnKept); when PostgreSQL refuses
 * that, it runs as above.
 */
export async function runLedgerBatch(connections: ConnectionSource, requests: LedgerRequest[], newId: (prefix: string) => string, cache?: AccountCache): Promise<Outcome[]> {
  const acquired = connections.acquire();
  const client = acquired instanceof Promise ? await acquired : acquired;
  let broken = false;
  try {
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
    if (cache && followers.size === 0 && requests.every((r) => DECIDED_ON_STATE.has(r.command.type))) {
      const now = cache.clock.now();
      const kept = cache.take(accountIds, holdIdsOf(requests), now);
      const outcomes = kept && (await runOnKept(client, requests, leaders, kept, now, cache, newId));
      if (outcomes) return outcomes;
    }
    try {
      return await runOnLoaded(client, requests, accountIds, leaders, followers, cache, newId);
    } catch (error) {
      // A key this batch did not find was written meanwhile by another transaction (another
      // process's batch, or a keyed create), whose commit this one's insert waited for: loaded
      // again, it is found (a retry replayed, another request under it a 409).
      if (!isKeyTaken(error)) throw error;
      await client.query('ROLLBACK');
      return await runOnLoaded(client, requests, accountIds, leaders, followers, cache, newId);
    }
  } catch (error) {
    // A connection the database did not answer is dropped (PostgreSQL rolls back what it began):
    // a ROLLBACK sent on it would wait as long again. One that cannot even roll back is dropped too.
    if (isDatabaseUnreachable(error)) broken = true;
    else await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    connections.release(client, broken);
  }
}

async function runOnLoaded(
  client: PoolClient,
  requests: LedgerRequest[],
  accountIds: string[],
  leaders: Map<string, number>,
  followers: Map<number, number>,
  cache: AccountCache | undefined,
  newId: (prefix: string) => string,
): Promise<Outcome[]> {
  const holdIds = holdIdsOf(requests);
  const sourceKeys = requests.flatMap((r) => (r.command.type === 'grant' && r.command.sourceKey ? [r.command.sourceKey] : []));
  // A revocation and its restoration each look for both keys; a restoration also needs its grant, however little is left of it.
  const revocationKeys = requests.flatMap((r) => (r.command.type === 'revoke' || r.command.type === 'restore' ? [r.command.revocationKey, restorationKeyOf(r.command.revocationKey)] : []));
  const restoredGrantIds = requests.flatMap((r) => (r.command.type === 'restore' ? [r.command.grantId] : []));
  const readClock = cache?.clock.startReading();
  const loaded = await openBatch(client, [...leaders.keys()], accountIds, sourceKeys, holdIds, revocationKeys, restoredGrantIds);
  readClock?.(loaded.began, loaded.now);

  const outcomes: Array<Outcome | undefined> = new Array(requests.length);
  for (const [key, i] of leaders) {
    const stored = loaded.existing.get(key);
    if (stored) outcomes[i] = replay(requests[i].idempotency!, stored);
  }
  const toRun = requests.map((r, i) => (outcomes[i] || followers.has(i) ? undefined : r.command));
  const decided = applyCommands(toRun, { now: loaded.now, accounts: loaded.accounts, holdAccounts: loaded.holdAccounts, grantedSourceKeys: loaded.granted, revocations: loaded.revocations }, newId);
  const { computed, changes } = decided;
  const entryIds = await writeAndCommit(client, changes, storedResults(requests, leaders, computed));
  if (cache) keepWritten(cache, decided.accounts, changes, entryIds);
  computed.forEach((c, i) => c && (outcomes[i] = withEntryId(c, entryIds)));
  for (const [i, leader] of followers) {
    // A key already stored is answered from its record, whatever the request ahead of this one under it was.
    const stored = loaded.existing.get(requests[i].idempotency!.key);
    outcomes[i] = stored ? replay(requests[i].idempotency!, stored) : follow(requests[i].idempotency!, requests[leader].idempotency!, outcomes[leader]!);
  }
  return outcomes as Outcome[];
}

/**
 * A batch decided on copies of kept account states (no load), checked and written in one
 * round trip. Returns undefined, with nothing written, when PostgreSQL finds an account changed since
 * it was kept (the write is guarded, and its transaction commits empty), or a key already used (a
 * retry, whose load will replay it; rolled back), or before writing when a keyed command was refused
 * (whether its key was used before, only a load tells): the caller then runs the batch with a load.
 */
async function runOnKept(
  client: PoolClient,
  requests: LedgerRequest[],
  leaders: Map<string, number>,
  kept: CachedAccounts,
  now: Date,
  cache: AccountCache,
  newId: (prefix: string) => string,
): Promise<Outcome[] | undefined> {
  const decided = applyCommands(
    requests.map((r) => r.command),
    { now, accounts: kept.states, holdAccounts: kept.holdAccounts, grantedSourceKeys: new Map(), revocations: new Map() },
    newId,
  );
  const { computed, changes } = decided;
  // A keyed command refused on the kept state (not enough credits, a hold not active) writes no
  // record, so nothing here would show that its key was used before: the first request's answer
  // must be replayed, and another request under that key is a 409. Only a load finds its record.
  if ([...leaders.values()].some((i) => !computed[i]?.outcome.ok)) return undefined;
  let written: Awaited<ReturnType<typeof checkWriteAndCommit>>;
  try {
    // Decided on the promise that nothing kept expires within the margin: written only inside it.
    written = await checkWriteAndCommit(client, kept.lastEntryIds, new Date(now.getTime() + EXPIRY_MARGIN_MS), changes, storedResults(requests, leaders, computed));
  } catch (error) {
    if (!isKeyTaken(error)) throw error;
    await client.query('ROLLBACK');
    cache.keyTaken();
    return undefined;
  }
  if ('changed' in written) {
    cache.refused(written.changed, now);
    return undefined;
  }
  cache.decided();
  keepWritten(cache, decided.accounts, changes, written.ids, kept.lastEntryIds);
  return computed.map((c) => withEntryId(c!, written.ids));
}

/** An idempotency record this batch wrote was written first by another transaction. */
const isKeyTaken = (error: unknown) => isUniqueViolation(error, 'idempotency_records_pkey');

/**
 * The commands decided on their accounts' state alone, which a batch may decide on kept states. The
 * others always load: a grant (one from Stripe needs the grants already made for its source key), a
 * revocation or restoration (the ones already written), and the expiry sweeper's settlement (an
 * expiry due is never decided on a kept state).
 */
const DECIDED_ON_STATE = new Set<LedgerCommand['type']>(['spend', 'hold', 'capture', 'release']);

const holdIdsOf = (requests: LedgerRequest[]) => requests.flatMap((r) => ('holdId' in r.command ? [r.command.holdId] : []));

/** The idempotency records to write: a refused command writes nothing, not even its key, so a retry may succeed. */
function storedResults(requests: LedgerRequest[], leaders: Map<string, number>, computed: Array<Computed | undefined>): StoredResult[] {
  return [...leaders].flatMap(([key, i]) => {
    const c = computed[i];
    if (!c?.outcome.ok) return [];
    const { operation, fingerprint } = requests[i].idempotency!;
    return [{ key, operation, fingerprint, result: c.outcome.value, entryIndex: 'entryId' in c.outcome.value ? c.entryIndex : undefined }];
  });
}

function withEntryId(c: Computed, entryIds: string[]): Outcome {
  if (c.outcome.ok && c.entryIndex !== undefined && 'entryId' in c.outcome.value) c.outcome.value.entryId = entryIds[c.entryIndex];
  return c.outcome;
}

/**
 * Keeps the accounts a batch touched, as it left them, with their latest entry: the last this batch
 * wrote for each, or for one it wrote nothing for, the one it was kept with (`before`); without either
 * (a loaded account the batch only refused) it is not kept.
 */
function keepWritten(cache: AccountCache, states: Map<string, AccountState>, changes: BookChanges, entryIds: string[], before?: Map<string, string>): void {
  const latest = new Map(before);
  changes.entries.forEach((entry, i) => latest.set(entry.accountId, entryIds[i]));
  for (const [id, state] of states) {
    const lastEntryId = latest.get(id);
    if (lastEntryId !== undefined) cache.remember(state, lastEntryId);
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
  return { ok: false, error: new KeyReusedFailure(key) };
}
