import type { PoolClient } from 'pg';
import type { BookChanges } from '../domain/ledger/account-book.js';
import type { AccountState, GrantResult, GrantState, HoldState } from '../domain/ledger/types.js';

/** Ledger SQL, one function a round trip. Every function runs inside the caller's transaction. */

export async function holdAccounts(client: PoolClient, holdIds: string[]): Promise<Map<string, string>> {
  if (holdIds.length === 0) return new Map();
  const { rows } = await client.query<{ id: string; account_id: string }>('SELECT id, account_id FROM holds WHERE id = ANY($1::text[])', [holdIds]);
  return new Map(rows.map((row) => [row.id, row.account_id]));
}

/**
 * Locks the accounts, in id order so that two batches never wait on each other in a cycle. Every
 * change of a balance takes this lock first: it is what serialises writers, across processes too.
 */
export async function lockAccounts(client: PoolClient, accountIds: string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const { rows } = await client.query<{ id: string }>('SELECT id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [accountIds]);
  return new Set(rows.map((row) => row.id));
}

interface ClaimRow {
  key: string;
  operation: string;
  fingerprint: string;
  result: unknown;
}

/**
 * Claims idempotency keys. A key another transaction is claiming makes this wait until it ends; a
 * key already stored comes back in `existing`. Claims of commands that fail are removed before commit.
 */
export async function claimKeys(client: PoolClient, claims: Array<{ key: string; operation: string; fingerprint: string }>): Promise<Map<string, ClaimRow>> {
  if (claims.length === 0) return new Map();
  const keys = claims.map((c) => c.key);
  const { rows } = await client.query<{ key: string }>(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result)
     SELECT k, o, f, 'null'::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS c(k, o, f)
     ON CONFLICT (key) DO NOTHING RETURNING key`,
    [keys, claims.map((c) => c.operation), claims.map((c) => c.fingerprint)],
  );
  const claimed = new Set(rows.map((row) => row.key));
  const taken = keys.filter((key) => !claimed.has(key));
  if (taken.length === 0) return new Map();
  const existing = await client.query<ClaimRow>('SELECT key, operation, fingerprint, result FROM idempotency_records WHERE key = ANY($1::text[])', [taken]);
  return new Map(existing.rows.map((row) => [row.key, row]));
}

interface LoadedRow {
  now: Date;
  grants: Array<{ id: string; account_id: string; amount: number; remaining: number; source: string; expires_at: string | null; created_at: string }>;
  holds: Array<{ id: string; account_id: string; amount: number; status: HoldState['status']; captured_amount: number | null; allocations: HoldState['allocations']; expires_at: string; reason: string | null; metadata: Record<string, unknown>; created_at: string }>;
  granted: Array<{ id: string; account_id: string; amount: number; remaining: number; source: string; source_key: string; expires_at: string | null; created_at: string }>;
}

/**
 * Loads, in one round trip: the locked accounts' grants with credits left (or that a loaded hold may
 * give credits back to), their active holds and the
 * named ones (whatever their status), the grants already made for the given source keys, and the clock.
 */
export async function loadAccounts(client: PoolClient, accountIds: string[], sourceKeys: string[], holdIds: string[]) {
  const { rows } = await client.query<LoadedRow>(
    `SELECT clock_timestamp() AS now,
       (SELECT coalesce(json_agg(g), '[]') FROM (SELECT id, account_id, amount, remaining, source, expires_at, created_at
          FROM grants WHERE account_id = ANY($1::text[]) AND (remaining > 0 OR id IN (
            SELECT x->>'grantId' FROM holds h, jsonb_array_elements(h.allocations) x
            WHERE (h.account_id = ANY($1::text[]) AND h.status = 'active') OR h.id = ANY($3::text[])))) g) AS grants,
       (SELECT coalesce(json_agg(h), '[]') FROM (SELECT id, account_id, amount, status, captured_amount, allocations, expires_at, reason, metadata, created_at
          FROM holds WHERE (account_id = ANY($1::text[]) AND status = 'active') OR id = ANY($3::text[])) h) AS holds,
       (SELECT coalesce(json_agg(s), '[]') FROM (SELECT id, account_id, amount, remaining, source, source_key, expires_at, created_at
          FROM grants WHERE source_key = ANY($2::text[])) s) AS granted`,
    [accountIds, sourceKeys, holdIds],
  );
  const row = rows[0];
  const accounts = new Map<string, AccountState>(accountIds.map((id) => [id, { id, grants: [], holds: [] }]));
  for (const g of row.grants) accounts.get(g.account_id)?.grants.push(toGrant(g));
  for (const h of row.holds) {
    accounts.get(h.account_id)?.holds.push({
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
      settledAt: null,
    });
  }
  const granted = new Map<string, GrantResult['grant']>();
  for (const g of row.granted) {
    const grant = toGrant(g);
    granted.set(g.source_key, { ...grant, expiresAt: grant.expiresAt?.toISOString() ?? null, createdAt: grant.createdAt.toISOString() });
  }
  return { now: new Date(row.now), accounts, granted };
}

function toGrant(g: LoadedRow['grants'][number]): GrantState {
  return {
    id: g.id,
    accountId: g.account_id,
    amount: Number(g.amount),
    remaining: Number(g.remaining),
    source: g.source,
    expiresAt: g.expires_at === null ? null : new Date(g.expires_at),
    createdAt: new Date(g.created_at),
  };
}

/** Writes what a batch changed; returns the new ledger entries' ids, in order. */
export async function persistChanges(client: PoolClient, changes: BookChanges): Promise<string[]> {
  const created = new Set(changes.newGrants.map((g) => g.id));
  const updated = [...changes.changedGrants].filter((g) => !created.has(g.id));
  if (changes.newGrants.length) {
    const g = changes.newGrants;
    await client.query(
      `INSERT INTO grants (id, account_id, source, source_key, amount, remaining, expires_at, reason, metadata, created_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::timestamptz[], $8::text[], $9::jsonb[], $10::timestamptz[])`,
      [g.map((x) => x.id), g.map((x) => x.accountId), g.map((x) => x.source), g.map((x) => x.sourceKey), g.map((x) => x.amount), g.map((x) => x.remaining), g.map((x) => x.expiresAt), g.map((x) => x.reason), g.map((x) => JSON.stringify(x.metadata)), g.map((x) => x.createdAt)],
    );
  }
  if (updated.length) {
    await client.query('UPDATE grants SET remaining = v.remaining FROM unnest($1::text[], $2::bigint[]) AS v(id, remaining) WHERE grants.id = v.id', [
      updated.map((g) => g.id),
      updated.map((g) => g.remaining),
    ]);
  }
  const holds = [...new Set([...changes.newHolds, ...changes.changedHolds])];
  if (holds.length) {
    await client.query(
      `INSERT INTO holds (id, account_id, amount, status, captured_amount, allocations, expires_at, reason, metadata, created_at, settled_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::hold_status[], $5::bigint[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::jsonb[], $10::timestamptz[], $11::timestamptz[])
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, captured_amount = excluded.captured_amount, settled_at = excluded.settled_at`,
      [holds.map((h) => h.id), holds.map((h) => h.accountId), holds.map((h) => h.amount), holds.map((h) => h.status), holds.map((h) => h.capturedAmount), holds.map((h) => JSON.stringify(h.allocations)), holds.map((h) => h.expiresAt), holds.map((h) => h.reason), holds.map((h) => JSON.stringify(h.metadata)), holds.map((h) => h.createdAt), holds.map((h) => h.settledAt)],
    );
  }
  if (changes.entries.length === 0) return [];
  const e = changes.entries;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO ledger_entries (account_id, kind, amount, held_change, available_after, held_after, grant_id, hold_id, allocations, reason, metadata)
     SELECT a, k, am, hc, av, ha, g, h, al, r, m FROM unnest($1::text[], $2::ledger_entry_kind[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::jsonb[])
       WITH ORDINALITY AS e(a, k, am, hc, av, ha, g, h, al, r, m, n) ORDER BY n
     RETURNING id`,
    [e.map((x) => x.accountId), e.map((x) => x.kind), e.map((x) => x.amount), e.map((x) => x.heldChange), e.map((x) => x.availableAfter), e.map((x) => x.heldAfter), e.map((x) => x.grantId), e.map((x) => x.holdId), e.map((x) => (x.allocations ? JSON.stringify(x.allocations) : null)), e.map((x) => x.reason), e.map((x) => (x.metadata ? JSON.stringify(x.metadata) : null))],
  );
  return rows.map((row) => String(row.id));
}

export async function finishClaims(client: PoolClient, stored: Array<{ key: string; result: unknown }>, dropped: string[]): Promise<void> {
  if (stored.length) {
    await client.query('UPDATE idempotency_records r SET result = v.result FROM unnest($1::text[], $2::jsonb[]) AS v(key, result) WHERE r.key = v.key', [
      stored.map((s) => s.key),
      stored.map((s) => JSON.stringify(s.result)),
    ]);
  }
  if (dropped.length) await client.query('DELETE FROM idempotency_records WHERE key = ANY($1::text[])', [dropped]);
}
