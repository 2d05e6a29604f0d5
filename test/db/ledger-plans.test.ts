import t from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { serverUrl } from '../helper.js';
import { HeldConnections } from '../../src/db/held-connections.js';
import { runLedgerBatch, type LedgerRequest } from '../../src/domain/ledger/run-ledger-batch.js';
import { newId } from '../../src/lib/ids.js';
import { accountsWithLapses, LAPSES_SQL, loadBalances } from '../../src/db/balance-queries.js';
import { LAPSE_OVERLAP_MS, SWEEP_LIMIT } from '../../src/domain/ledger/expiry-sweeper.js';
import type { Outcome } from '../../src/domain/ledger/types.js';

const TABLES = new Set(['accounts', 'grants', 'holds', 'ledger_entries', 'idempotency_records']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** A plan's nodes, the plan's own first. */
function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** Every node of a plan that reads one of the ledger's tables or their indexes without a key. */
function unkeyedReads(plan: PlanNode): string[] {
  return nodesOf(plan).flatMap((node) => {
    const type = node['Node Type'];
    if (type === 'Seq Scan' && node['Relation Name'] && TABLES.has(node['Relation Name'])) return [`Seq Scan on ${node['Relation Name']}`];
    if (/^(Index Scan|Index Only Scan|Bitmap Index Scan)$/.test(type) && !node['Index Cond']) return [`${type} on ${node['Index Name']} without a key`];
    return [];
  });
}

/** The indexes a plan reads. */
const indexesRead = (plan: PlanNode) => nodesOf(plan).flatMap((node) => (node['Index Name'] ? [node['Index Name']] : []));

/**
 * A pool of one connection that remembers the text of every query sent on it: the batches' SQL, to be
 * explained afterwards on the same connection, where its prepared statements and cached plans live.
 */
function recordingPool(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const texts: string[] = [];
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      if (typeof args[0] === 'string') texts.push(args[0]);
      return query(...args);
    };
  });
  return { pool, texts };
}

/** Fills the tables as service does, on other accounts, without the connection planning again. */
async function grow(pool: pg.Pool): Promise<void> {
  await pool.query(`
    INSERT INTO accounts (id) SELECT 'other-' || n FROM generate_series(1, 5000) n;
    INSERT INTO grants (id, account_id, source, amount, remaining) SELECT 'grt-' || n, 'other-' || n, 'test', 100, 100 FROM generate_series(1, 5000) n;
    INSERT INTO holds (id, account_id, amount, status, allocations, expires_at)
      SELECT 'hold-' || n, 'other-' || n, 1, CASE WHEN n % 2 = 0 THEN 'active' ELSE 'captured' END::hold_status, '[]', now() + interval '1 hour'
      FROM generate_series(1, 5000) n;
    INSERT INTO idempotency_records (key, operation, fingerprint, result) SELECT 'key-' || n, 'spend', 'x', '{}' FROM generate_series(1, 5000) n;`);
}

async function run(pool: pg.Pool, requests: LedgerRequest[]): Promise<Outcome[]> {
  const outcomes = await runLedgerBatch(new HeldConnections(pool), requests, newId);
  for (const outcome of outcomes) if (!outcome.ok) throw outcome.error;
  return outcomes;
}

t.test('the ledger reads rows by key, even with plans made while the tables were empty', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const { pool, texts } = recordingPool(url);
  t.teardown(() => pool.end());
  await pool.query(`INSERT INTO accounts (id) VALUES ('acct-a')`);
  const key = (op: string) => ({ key: newId('key'), operation: op, fingerprint: op });

  // The connection prepares and plans its statements now, against tables of a row or two.
  const [granted] = await run(pool, [{ command: { type: 'grant', accountId: 'acct-a', amount: 1000, source: 'test' } }]);
  const grantId = (granted as { value: { grant: { id: string } } }).value.grant.id;
  const [first] = await run(pool, [{ command: { type: 'hold', accountId: 'acct-a', amount: 10, expiresInSeconds: 600 }, idempotency: key('hold') }]);
  await run(pool, [{ command: { type: 'capture', holdId: (first as { value: { hold: { id: string } } }).value.hold.id, amount: 5 }, idempotency: key('capture') }]);
  // A refund's revocation and, the refund failed, its restoration: the statements only they send.
  const revocation = (refund: string) => ({ accountId: 'acct-a', grantId, revocationKey: `refund:${refund}:${grantId}`, reason: 'test' });
  await run(pool, [{ command: { type: 'revoke', amount: 1, ...revocation('re_1') } }]);
  await run(pool, [{ command: { type: 'restore', ...revocation('re_1') } }]);

  // Then the tables grow.
  await grow(pool);

  texts.length = 0;
  const [hold] = await run(pool, [
    { command: { type: 'hold', accountId: 'acct-a', amount: 10, expiresInSeconds: 600 }, idempotency: key('hold') },
    { command: { type: 'spend', accountId: 'acct-a', amount: 1 }, idempotency: key('spend') },
  ]);
  await run(pool, [{ command: { type: 'capture', holdId: (hold as { value: { hold: { id: string } } }).value.hold.id, amount: 4 }, idempotency: key('capture') }]);
  await run(pool, [{ command: { type: 'revoke', amount: 1, ...revocation('re_2') } }]);
  await run(pool, [{ command: { type: 'restore', ...revocation('re_2') } }]);
  const batches = texts.filter((text) => text.includes('EXECUTE tally_ledger_'));
  t.equal(batches.length, 8, 'two round trips per batch');

  // Each round trip again, explained on the same connection, in a transaction that is rolled back.
  const client = await pool.connect();
  t.teardown(() => client.release());
  const explained: Array<{ statement: string; plan: PlanNode }> = [];
  for (let i = 0; i < batches.length; i += 2) {
    const trips = [batches[i], batches[i + 1].replace(/;\s*COMMIT\s*$/, '')];
    const statements = trips.map((trip) => trip.replace(/EXECUTE (tally_ledger_\w+)/g, 'EXPLAIN (FORMAT JSON) EXECUTE $1'));
    try {
      for (const sql of statements) {
        type Explained = { command: string; rows: Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }> };
        const result = (await client.query(sql)) as unknown as Explained | Explained[];
        const results = Array.isArray(result) ? result : [result];
        const names = [...sql.matchAll(/EXECUTE (tally_ledger_\w+)/g)].map((m) => m[1]);
        const plans = results.filter((r) => r.command === 'EXPLAIN');
        plans.forEach((r, j) => explained.push({ statement: names[j], plan: r.rows[0]['QUERY PLAN'][0].Plan }));
      }
    } finally {
      await client.query('ROLLBACK');
    }
  }
  t.same(
    [...new Set(explained.map((e) => e.statement))].sort(),
    ['tally_ledger_load', 'tally_ledger_lock', 'tally_ledger_named_grants', 'tally_ledger_revocations', 'tally_ledger_write'],
    'every ledger statement explained',
  );
  for (const { statement, plan } of explained) t.same(unkeyedReads(plan), [], `${statement} reads by key`);
});

t.test('balance reads look accounts up by key, even with plans made while the tables were empty', async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  t.teardown(() => pool.end());
  await pool.query(`INSERT INTO accounts (id) VALUES ('acct-a')`);
  await run(pool, [{ command: { type: 'grant', accountId: 'acct-a', amount: 1000, source: 'test' } }]);
  await run(pool, [{ command: { type: 'hold', accountId: 'acct-a', amount: 10, expiresInSeconds: 600 } }]);
  // Past the five custom plans after which PostgreSQL may settle on a generic one.
  for (let i = 0; i < 8; i++) t.equal((await loadBalances(pool, ['acct-a'])).get('acct-a')?.holds.length, 1);
  await grow(pool);
  const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) EXECUTE tally_balances('{acct-a}')`);
  t.same(unkeyedReads(rows[0]['QUERY PLAN'][0].Plan), [], 'tally_balances reads by key');
});

t.test("the expiry sweeper reads only the grants that expired since its last pass, not every grant that ever did", async (t) => {
  const url = await createTestDatabase(await serverUrl(t));
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  t.teardown(() => pool.end());
  await grow(pool);
  // A long history: 20,000 grants that expired and were written off, a few that lapsed just now.
  await pool.query(`
    INSERT INTO accounts (id) SELECT 'old-' || n FROM generate_series(1, 20000) n;
    INSERT INTO grants (id, account_id, source, amount, remaining, expires_at)
      SELECT 'old-g' || n, 'old-' || n, 'test', 100, 0, now() - interval '400 days' + n * interval '1 second' FROM generate_series(1, 20000) n;
    INSERT INTO accounts (id) VALUES ('lapsed-a'), ('lapsed-b');
    INSERT INTO grants (id, account_id, source, amount, remaining, expires_at) VALUES
      ('lapsed-g1', 'lapsed-a', 'test', 100, 40, now() - interval '1 second'),
      ('lapsed-g2', 'lapsed-b', 'test', 100, 0, now() - interval '1 second');
    ANALYZE grants;`);
  const since = new Date(Date.now() - LAPSE_OVERLAP_MS - 5_000);
  t.same((await accountsWithLapses(pool, SWEEP_LIMIT, since)).accounts, ['lapsed-a'], 'finds the grant with credits left');
  t.same((await accountsWithLapses(pool, SWEEP_LIMIT, null)).accounts, ['lapsed-a'], 'the first pass, looking at every expired grant, finds the same');
  const explained = await pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${LAPSES_SQL}`, [SWEEP_LIMIT, since]);
  const plan = explained.rows[0]['QUERY PLAN'][0].Plan;
  t.same(unkeyedReads(plan), [], 'read by key');
  t.ok(indexesRead(plan).includes('grants_expires_at_idx'), `grants read through grants_expires_at_idx (${indexesRead(plan).join(', ')})`);
});
