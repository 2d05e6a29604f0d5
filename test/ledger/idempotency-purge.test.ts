import t from 'tap';
import { build, eventually } from '../helper.js';
import { purgeIdempotency } from '../../src/domain/ledger/idempotency-purge.js';

async function recordAges(database: { pool: import('pg').Pool }) {
  const { rows } = await database.pool.query<{ key: string }>('SELECT key FROM idempotency_records ORDER BY key');
  return rows.map((r) => r.key);
}

t.test('records older than the retention are purged; younger ones still replay', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_p', {});
  await call('POST', '/v1/accounts/acct_p/grants', { amount: 100 }, { 'idempotency-key': 'grant-1' });
  const spend = { amount: 10 };
  t.equal((await call('POST', '/v1/accounts/acct_p/spend', spend, { 'idempotency-key': 'old-spend' })).status, 200);
  t.equal((await call('POST', '/v1/accounts/acct_p/spend', spend, { 'idempotency-key': 'new-spend' })).status, 200);
  await database.pool.query(`UPDATE idempotency_records SET created_at = now() - interval '49 hours' WHERE key IN ('old-spend', 'grant-1')`);

  t.equal(await purgeIdempotency(database.pool, 48), 2, 'the two older than 48 hours');
  t.same(await recordAges(database), ['new-spend']);
  t.equal(await purgeIdempotency(database.pool, 48), 0, 'nothing left to purge');

  const replay = await call('POST', '/v1/accounts/acct_p/spend', spend, { 'idempotency-key': 'new-spend' });
  t.equal(replay.headers['idempotent-replayed'], 'true', 'a kept key still replays');
  const retried = await call('POST', '/v1/accounts/acct_p/spend', spend, { 'idempotency-key': 'old-spend' });
  t.equal(retried.status, 200);
  t.notOk(retried.headers['idempotent-replayed'], 'a purged key is a new request');
  t.equal(retried.body.available, 70, 'and spends again');
});

t.test('the running service purges on its own, in batches larger than one statement', async (t) => {
  const { database } = await build(t, { env: { IDEMPOTENCY_RETENTION_HOURS: '1', IDEMPOTENCY_PURGE_INTERVAL_MS: '100' } });
  await database.pool.query(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result, created_at)
     SELECT 'k' || g, 'spend', 'f', '{}'::jsonb, now() - interval '2 hours' FROM generate_series(1, 12000) g
     UNION ALL SELECT 'fresh', 'spend', 'f', '{}'::jsonb, now()`,
  );
  await eventually(async () => (await recordAges(database)).length === 1);
  t.same(await recordAges(database), ['fresh']);
});

t.test('a purge stopped by a closing Tally ends after the batch in hand; the next purge deletes the rest', async (t) => {
  const { database } = await build(t);
  await database.pool.query(
    `INSERT INTO idempotency_records (key, operation, fingerprint, result, created_at)
     SELECT 'k' || g, 'spend', 'f', '{}'::jsonb, now() - interval '2 hours' FROM generate_series(1, 12000) g`,
  );
  const stopping = new AbortController();
  stopping.abort();
  t.equal(await purgeIdempotency(database.pool, 1, stopping.signal), 5000, 'one batch');
  t.equal(await purgeIdempotency(database.pool, 1), 7000, 'the rest');
});
