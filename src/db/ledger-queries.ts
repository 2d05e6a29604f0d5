import type { PoolClient } from 'pg';
import { ensurePrepared, execute, preparedStatement } from './prepared-statements.js';
import type { BookChanges } from '../domain/ledger/account-book.js';
import type { AccountState, Debt, GrantResult, HoldState, PastRevocation } from '../domain/ledger/types.js';

/**
 * The ledger's SQL. A batch costs two round trips whatever its size: BEGIN, the account locks and
 * the load in one; the writes and COMMIT in the other. A batch decided on kept account states
 * (account-cache.ts) costs one: checkWriteAndCommit. Each trip is several statements in one
 * simple-protocol query: the statements are prepared once per connection, and each trip EXECUTEs
 * them with their parameters as escaped literals (prepared-statements.ts), so PostgreSQL neither
 * parses nor plans their text per batch.
 */

type Result<R> = { rows: R[] };

export interface StoredClaim {
  key: string;
  operation: string;
  fingerprint: string;
  result: unknown;
}

type GrantJson = { id: string; account_id: string; amount: number; remaining: number; source: string; source_key?: string; expires_at: string | null; created_at: string; debts?: Debt[] };
/** A holds row as PostgreSQL's row_to_json gives it. */
export type HoldJson = { id: string; account_id: string; amount: number; status: HoldState['status']; captured_amount: number | null; allocations: HoldState['allocations']; expires_at: string; reason: string | null; metadata: Record<string, unknown>; created_at: string; settled_at?: string | null };

type RevocationJson = { account_id: string; grant_id: string; key: string; requested: string | null; revoked: string | null };

interface LoadedRow {
  now: Date;
  /** When the trip reached the database (its transaction's start): the lock waits lie between this and `now`. */
  began: Date;
  existing: StoredClaim[];
  grants: GrantJson[];
  holds: HoldJson[];
  granted: GrantJson[];
}

// ARRAY(...) is computed once, so the accounts are found through their primary key (an OR here
// made PostgreSQL walk the whole index).
const LOCK = preparedStatement(
  'tally_ledger_lock',
  `SELECT id FROM accounts WHERE id = ANY(ARRAY(SELECT unnest($1::text[]) UNION SELECT account_id FROM holds WHERE id = ANY($2::text[])))
     ORDER BY id FOR UPDATE`,
);

// Each account's active holds and grants with credits left are looked up per account (a LATERAL
// subquery that OFFSET 0 keeps from being flattened): as a join, PostgreSQL may instead read every
// active hold once and filter, which an estimate made while the table was small makes look cheap.
const LOAD = preparedStatement(
  'tally_ledger_load',
  `WITH named AS (SELECT * FROM holds WHERE id = ANY($3::text[])),
     acct AS (SELECT unnest($1::text[]) AS id UNION SELECT account_id FROM named),
     hold_rows AS (
       SELECT h.* FROM acct, LATERAL (SELECT * FROM holds WHERE holds.account_id = acct.id AND status = 'active' OFFSET 0) h
       UNION ALL SELECT * FROM named WHERE status <> 'active')
     SELECT clock_timestamp() AS now, now() AS began,
       (SELECT coalesce(json_agg(r), '[]') FROM (SELECT key, operation, fingerprint, result FROM idempotency_records
          WHERE key = ANY($4::text[])) r) AS existing,
       (SELECT coalesce(json_agg(g), '[]') FROM (
          SELECT g.* FROM acct, LATERAL (SELECT id, account_id, amount, remaining, source, expires_at, created_at, debts FROM grants
            WHERE grants.account_id = acct.id AND remaining > 0 OFFSET 0) g
          UNION
          SELECT id, account_id, amount, remaining, source, expires_at, created_at, debts FROM grants
          WHERE id = ANY(ARRAY(SELECT x->>'grantId' FROM hold_rows h, jsonb_array_elements(h.allocations) x WHERE h.status = 'active'))) g) AS grants,
       (SELECT coalesce(json_agg(h), '[]') FROM (SELECT id, account_id, amount, status, captured_amount, allocations, expires_at, reason, metadata, created_at FROM hold_rows) h) AS holds,
       (SELECT coalesce(json_agg(s), '[]') FROM (SELECT id, account_id, amount, remaining, source, source_key, expires_at, created_at
          FROM grants WHERE source_key = ANY($2::text[])) s) AS granted`,
);

// Sent only by a batch that revokes or restores (rare): the spend path's load stays as it is.
const REVOCATIONS = preparedStatement(
  'tally_ledger_revocations',
  `SELECT account_id, grant_id, metadata->>'revocationKey' AS key,
          (metadata->>'requested')::bigint AS requested, (metadata->>'revoked')::bigint AS revoked
   FROM ledger_entries WHERE kind = 'adjustment' AND metadata->>'revocationKey' = ANY($1::text[])`,
);

// Sent only by a batch that restores: the grants given back to, which the load leaves out once
// nothing is left of them.
const NAMED_GRANTS = preparedStatement(
  'tally_ledger_named_grants',
  `SELECT id, account_id, amount, remaining, source, expires_at, created_at, debts FROM grants WHERE id = ANY($1::text[])`,
);

// The write of a batch decided on kept account states (account-cache.ts) is guarded: it writes only
// if each of those accounts' latest ledger entry is still the one kept ($45, $46; a loaded batch
// passes none). The accounts are locked by then, and an entry id is drawn under the lock for every
// change of an account's balance, grants or holds, so any change since the state was kept, by this
// process or another, shows as a newer entry. It writes only before $49 too (on the database's
// clock; a loaded batch passes none): such a batch was decided before its locks were waited for, on
// the promise that no expiry falls within EXPIRY_MARGIN_MS, and a lock may be waited for longer.
// Guarded out, the statement writes nothing and names the accounts that changed (or says it came
// late): no error, so PostgreSQL logs nothing, and the empty transaction just commits.
const WRITE = preparedStatement(
  'tally_ledger_write',
  `WITH guard AS MATERIALIZED (
       SELECT stale.changed, timely.late, cardinality(stale.changed) = 0 AND NOT timely.late AS unchanged
       FROM (SELECT coalesce(array_agg(kept.account_id), '{}') AS changed
             FROM unnest($45::text[], $46::bigint[]) AS kept(account_id, last_entry_id)
             WHERE (SELECT max(e.id) FROM ledger_entries e WHERE e.account_id = kept.account_id) IS DISTINCT FROM kept.last_entry_id) stale,
            (SELECT clock_timestamp() >= coalesce($49::timestamptz, 'infinity') AS late) timely),
     ids AS MATERIALIZED (
       SELECT n, nextval('ledger_entries_id_seq'::regclass) AS id FROM generate_series(1, $1::int) AS n WHERE (SELECT unchanged FROM guard)),
     new_grants AS (
       INSERT INTO grants (id, account_id, source, source_key, amount, remaining, expires_at, reason, metadata, created_at, debts)
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::timestamptz[], $9::text[], $10::jsonb[], $11::timestamptz[], $47::jsonb[])
       WHERE (SELECT unchanged FROM guard)
       RETURNING 1),
     drawn AS (
       UPDATE grants SET remaining = v.remaining, debts = coalesce(v.debts, grants.debts)
       FROM unnest($12::text[], $13::bigint[], $48::jsonb[]) AS v(id, remaining, debts)
       WHERE grants.id = v.id AND (SELECT unchanged FROM guard) RETURNING 1),
     held AS (
       INSERT INTO holds (id, account_id, amount, status, captured_amount, allocations, expires_at, reason, metadata, created_at, settled_at)
       SELECT * FROM unnest($14::text[], $15::text[], $16::bigint[], $17::hold_status[], $18::bigint[], $19::jsonb[], $20::timestamptz[], $21::text[], $22::jsonb[], $23::timestamptz[], $24::timestamptz[])
       WHERE (SELECT unchanged FROM guard)
       RETURNING 1),
     settled AS (
       UPDATE holds SET status = v.status, captured_amount = v.captured_amount, settled_at = v.settled_at
       FROM unnest($41::text[], $42::hold_status[], $43::bigint[], $44::timestamptz[]) AS v(id, status, captured_amount, settled_at)
       WHERE holds.id = v.id AND (SELECT unchanged FROM guard)
       RETURNING 1),
     entries AS (
       INSERT INTO ledger_entries (id, account_id, kind, amount, held_change, available_after, held_after, grant_id, hold_id, allocations, reason, metadata)
       SELECT ids.id, e.a, e.k, e.am, e.hc, e.av, e.ha, e.g, e.h, e.al, e.r, e.m
       FROM unnest($25::text[], $26::ledger_entry_kind[], $27::bigint[], $28::bigint[], $29::bigint[], $30::bigint[], $31::text[], $32::text[], $33::jsonb[], $34::text[], $35::jsonb[])
         WITH ORDINALITY AS e(a, k, am, hc, av, ha, g, h, al, r, m, n)
       JOIN ids ON ids.n = e.n
       RETURNING 1),
     remembered AS (
       INSERT INTO idempotency_records (key, operation, fingerprint, result)
       SELECT v.key, v.operation, v.fingerprint, CASE WHEN ids.id IS NULL THEN v.result ELSE jsonb_set(v.result, '{entryId}', to_jsonb(ids.id::text)) END
       FROM unnest($36::text[], $37::text[], $38::text[], $39::jsonb[], $40::int[]) AS v(key, operation, fingerprint, result, n) LEFT JOIN ids ON ids.n = v.n
       WHERE (SELECT unchanged FROM guard)
       RETURNING 1)
     SELECT (SELECT changed FROM guard) AS changed, (SELECT late FROM guard) AS late, coalesce(array_agg(id::text ORDER BY n), '{}') AS ids FROM ids`,
);

type Written = Result<{ changed: string[]; late: boolean; ids: string[] }>;

const STATEMENTS = [LOCK, LOAD, REVOCATIONS, NAMED_GRANTS, WRITE];

/**
 * How the batch's transaction plans its statements. Left to choose, PostgreSQL re-plans the write
 * for every batch: its generic plan looks dearer on paper, not knowing the arrays' lengths. So the
 * prepared (generic) plans are used; but those are made once per connection, often while the tables
 * are still small, and kept as they grow. Costed against a table of a few pages, a hash join over a
 * scan of the whole table looks cheaper than looking rows up by key, and that plan would then read
 * every hold for every batch. These statements only ever touch a few rows by key, so plans that read
 * a table whole, or hash or merge it, are ruled out (test/db/ledger-plans.test.ts checks this).
 */
const KEYED_PLANS = [
  'SET LOCAL plan_cache_mode = force_generic_plan',
  'SET LOCAL enable_seqscan = off',
  'SET LOCAL enable_hashjoin = off',
  'SET LOCAL enable_mergejoin = off',
].join('; ');

/**
 * Sends a transaction's first trip, once the ledger's statements are prepared on the connection
 * (without waiting a tick when they already are, as on every batch but a connection's first).
 */
async function firstTrip(client: PoolClient, text: string): Promise<Array<Result<unknown>>> {
  const preparing = ensurePrepared(client, STATEMENTS);
  if (preparing) await preparing;
  return (await client.query(text)) as unknown as Array<Result<unknown>>;
}

/** How every batch's transaction starts: BEGIN, its plans ruled by KEYED_PLANS, and the account locks (in id order). */
const beginAndLock = (accountIds: string[], holdIds: string[]) => `BEGIN; ${KEYED_PLANS}; ${execute(LOCK, [accountIds, holdIds])}`;

/**
 * Opens the transaction, locks the accounts (those named and those of the named holds; a hold never
 * changes account) and loads, in one round trip of three statements.
 *
 * The locks are taken in id order, so two batches never wait on each other in a cycle. Every change
 * of a balance takes this lock first: it is what serialises writers, across processes too. The load
 * is a statement of its own, so its snapshot is taken after the locks are held and sees every change
 * committed before them. It returns the accounts' grants with credits left (or that a loaded hold may
 * give credits back to), with what they owe revocations, their active holds and the named ones, the grants already made for the given
 * source keys, the revocations already written for the given revocation keys, the named grants (those
 * a restoration gives back to, however little is left of them), the idempotency records
 * of the given keys, and the database's clock: as the load read it (`now`, what the batch decides
 * on), and as the trip arrived (`began`, before the lock waits).
 *
 * Idempotency needs no claim of its own: a key belongs to one request, so to one account, and a
 * batch holding that account's lock sees every record committed before it. A key reused on another
 * account at the same moment makes one batch's insert fail; its commands are then run again alone
 * and find the record.
 */
export async function openBatch(
  client: PoolClient,
  keys: string[],
  accountIds: string[],
  sourceKeys: string[],
  holdIds: string[],
  revocationKeys: string[],
  grantIds: string[],
) {
  const results = await firstTrip(
    client,
    `${beginAndLock(accountIds, holdIds)}; ${execute(LOAD, [accountIds, sourceKeys, holdIds, keys])}` +
      (revocationKeys.length ? `; ${execute(REVOCATIONS, [revocationKeys])}` : '') +
      (grantIds.length ? `; ${execute(NAMED_GRANTS, [grantIds])}` : ''),
  );
  const namedGrants = grantIds.length ? (results.pop() as Result<GrantJson>).rows : [];
  const revocationResult = revocationKeys.length ? (results.pop() as Result<RevocationJson>) : { rows: [] };
  const [lockResult, loadResult] = results.slice(-2) as [Result<{ id: string }>, Result<LoadedRow>];
  const locked = new Set(lockResult.rows.map((r) => r.id));
  const row = loadResult.rows[0];
  const accounts = new Map<string, AccountState>([...locked].map((id) => [id, { id, grants: [], holds: [] }]));
  for (const g of row.grants) accounts.get(g.account_id)?.grants.push(toGrant(g));
  for (const g of namedGrants) {
    const account = accounts.get(g.account_id);
    if (account && !account.grants.some((loaded) => loaded.id === g.id)) account.grants.push(toGrant(g));
  }
  for (const h of row.holds) accounts.get(h.account_id)?.holds.push(toHold(h));
  const granted = new Map<string, GrantResult['grant']>();
  for (const g of row.granted) {
    const grant = toGrant(g);
    granted.set(g.source_key!, { ...grant, expiresAt: grant.expiresAt?.toISOString() ?? null, createdAt: grant.createdAt.toISOString() });
  }
  const existing = new Map(row.existing.map((claim) => [claim.key, claim]));
  const holdAccounts = new Map(row.holds.map((h) => [h.id, h.account_id]));
  const revocations = new Map<string, PastRevocation>(
    revocationResult.rows.map((v) => [v.key, { accountId: v.account_id, grantId: v.grant_id, requested: Number(v.requested ?? 0), revoked: Number(v.revoked ?? 0) }]),
  );
  return { now: new Date(row.now), began: new Date(row.began), accounts, holdAccounts, granted, revocations, existing };
}

function toGrant(g: GrantJson) {
  return {
    id: g.id,
    accountId: g.account_id,
    amount: Number(g.amount),
    remaining: Number(g.remaining),
    source: g.source,
    expiresAt: g.expires_at === null ? null : new Date(g.expires_at),
    createdAt: new Date(g.created_at),
    debts: g.debts ?? [],
  };
}

export function toHold(h: HoldJson): HoldState {
  return {
    id: h.id,
    accountId: h.account_id,
    amount: Number(h.amount),
    status: h.status,
    capturedAmount: h.captured_amount === null ? null : Number(h.captured_amount),
    allocations: h.allocations,
    expiresAt: new Date(h.expires_at),
    reason: h.reason,
    metadata: h.metadata,
    createdAt: new Date(h.created_at),
    settledAt: h.settled_at ? new Date(h.settled_at) : null,
  };
}

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * Writes everything a batch decided in one statement, and commits, in one round trip: grants made
 * and drawn (and their debts, where they changed), holds placed and settled, ledger entries (ids
 * taken from the sequence in order, while the account locks are held, so an account's entries are
 * numbered in the order they happened),
 * and the idempotency records of the commands that succeeded, with their entry id.
 * If the statement fails, the COMMIT after it is not run. Returns the entries' ids.
 */
export async function writeAndCommit(client: PoolClient, changes: BookChanges, stored: StoredResult[]): Promise<string[]> {
  const results = (await client.query(`${writeStatement(changes, stored, new Map(), null)}; COMMIT`)) as unknown as [Written, unknown];
  return results[0].rows[0].ids;
}

/**
 * The whole batch in one round trip, for a batch decided on kept account states rather than a load:
 * BEGIN, the account locks, the write guarded by the check that each account's latest ledger entry is
 * still the one kept (`lastEntryIds`) and that the database's clock has not reached `validUntil`, and
 * COMMIT. Returns the entries' ids; or, when nothing was written (the transaction committed empty),
 * the accounts that had changed (none when it came too late).
 */
export async function checkWriteAndCommit(
  client: PoolClient,
  lastEntryIds: Map<string, string>,
  validUntil: Date,
  changes: BookChanges,
  stored: StoredResult[],
): Promise<{ ids: string[] } | { changed: string[] }> {
  const results = await firstTrip(client, `${beginAndLock([...lastEntryIds.keys()], [])}; ${writeStatement(changes, stored, lastEntryIds, validUntil)}; COMMIT`);
  const { changed, late, ids } = (results[results.length - 2] as Written).rows[0];
  return changed.length || late ? { changed } : { ids };
}

export type StoredResult = StoredClaim & { entryIndex: number | undefined };

/** The WRITE statement's EXECUTE, with everything a batch decided as its parameters, guarded by `lastEntryIds` (the kept accounts' latest entries, if any) and `validUntil`. */
function writeStatement(changes: BookChanges, stored: StoredResult[], lastEntryIds: Map<string, string>, validUntil: Date | null): string {
  const created = new Set(changes.newGrants.map((g) => g.id));
  const updated = [...changes.changedGrants].filter((g) => !created.has(g.id));
  const ng = changes.newGrants;
  // A hold placed and settled in the same batch is inserted as it ended; an existing one only has its
  // settlement written.
  const holds = [...changes.newHolds];
  const settled = [...changes.changedHolds].filter((h) => !changes.newHolds.has(h));
  const e = changes.entries;
  return execute(WRITE, [
    e.length,
    ng.map((x) => x.id), ng.map((x) => x.accountId), ng.map((x) => x.source), ng.map((x) => x.sourceKey), ng.map((x) => x.amount), ng.map((x) => x.remaining),
    ng.map((x) => x.expiresAt), ng.map((x) => x.reason), ng.map((x) => json(x.metadata)), ng.map((x) => x.createdAt),
    updated.map((g) => g.id), updated.map((g) => g.remaining),
    holds.map((h) => h.id), holds.map((h) => h.accountId), holds.map((h) => h.amount), holds.map((h) => h.status), holds.map((h) => h.capturedAmount),
    holds.map((h) => json(h.allocations)), holds.map((h) => h.expiresAt), holds.map((h) => h.reason), holds.map((h) => json(h.metadata)), holds.map((h) => h.createdAt), holds.map((h) => h.settledAt),
    e.map((x) => x.accountId), e.map((x) => x.kind), e.map((x) => x.amount), e.map((x) => x.heldChange), e.map((x) => x.availableAfter), e.map((x) => x.heldAfter),
    e.map((x) => x.grantId), e.map((x) => x.holdId), e.map((x) => json(x.allocations)), e.map((x) => x.reason), e.map((x) => json(x.metadata)),
    stored.map((s) => s.key), stored.map((s) => s.operation), stored.map((s) => s.fingerprint), stored.map((s) => json(s.result)),
    stored.map((s) => (s.entryIndex === undefined ? 0 : s.entryIndex + 1)),
    settled.map((h) => h.id), settled.map((h) => h.status), settled.map((h) => h.capturedAmount), settled.map((h) => h.settledAt),
    [...lastEntryIds.keys()], [...lastEntryIds.values()],
    ng.map((x) => json(x.debts)),
    // Debts are written only where they changed: a spend's write leaves them as they are.
    updated.map((g) => (changes.changedDebts.has(g) ? json(g.debts) : null)),
    validUntil,
  ]);
}
