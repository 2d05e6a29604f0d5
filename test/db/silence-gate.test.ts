import t from 'tap';
import pg from 'pg';
import { eventually, serverUrl } from '../helper.js';
import { createTestDatabase } from '../database.js';
import { startSilentProxy } from '../silent-proxy.js';
import { isDatabaseUnreachable } from '../../src/db/database-unreachable.js';
import { gatedPool, SilenceGate, type SilenceChange } from '../../src/db/silence-gate.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

t.test('only "no answer in time" closes the gate: a refusal, a busy pool, a cancelled statement are answers', async (t) => {
  const gate = new SilenceGate({ connectionString: await createTestDatabase(await serverUrl(t)) });
  t.teardown(() => gate.stop());
  for (const answer of [
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    new Error('timeout exceeded when trying to connect'),
    Object.assign(new pg.DatabaseError('canceling statement due to statement timeout', 0, 'error'), { code: '57014' }),
    new Error('Connection terminated unexpectedly'),
  ]) {
    gate.observe(answer);
    t.notOk(gate.silent, answer.message);
  }
  t.equal(gate.refuse(), null, 'nothing refused');
});

t.test('no answer in time closes the gate (said once); the first probe that the database answers opens it (said once)', async (t) => {
  const gate = new SilenceGate({ connectionString: await createTestDatabase(await serverUrl(t)), connectionTimeoutMillis: 1000 });
  t.teardown(() => gate.stop());
  const changes: SilenceChange[] = [];
  gate.listen((change) => changes.push(change));
  gate.observe(new Error('Query read timeout'));
  gate.observe(new Error('Connection terminated due to connection timeout'));
  t.ok(gate.silent, 'silent');
  const refusal = gate.refuse();
  t.match(refusal, { code: 'TALLY_DATABASE_SILENT', message: /has not answered since .*Query read timeout/ }, 'connections are refused, saying since when and why');
  t.ok(isDatabaseUnreachable(refusal), 'a refusal is a 503 database_unavailable');
  // The database here answers: the next probe (every 500 ms) opens the gate.
  await eventually(async () => !gate.silent);
  t.notOk(gate.silent, 'answering again');
  t.equal(gate.refuse(), null, 'nothing refused');
  t.same(changes.map((c) => c.silent), [true, false], 'silent once, answering once');
});

t.test("a gated pool: a query that gets no answer closes the gate, and from then on the pool's connections and queries fail at once", async (t) => {
  const proxy = await startSilentProxy(await createTestDatabase(await serverUrl(t)));
  t.teardown(() => proxy.close());
  const limits = { connectionString: proxy.url, connectionTimeoutMillis: 1000, query_timeout: 1000 };
  const gate = new SilenceGate(limits);
  const pool = gatedPool({ ...limits, max: 2 }, gate);
  pool.on('error', () => {});
  t.teardown(async () => {
    gate.stop();
    await pool.end();
  });
  t.same((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'answers through the relay');
  const held = await pool.connect();
  held.on('error', () => {});

  proxy.silence();
  await t.rejects(held.query('SELECT 1'), { message: 'Query read timeout' }, "a held connection's query: no answer within query_timeout");
  held.release(true);
  t.ok(gate.silent, 'the gate knows');
  await t.rejects(pool.query('SELECT 1'), { code: 'TALLY_DATABASE_SILENT' }, 'pool.query: refused');
  await t.rejects(pool.connect(), { code: 'TALLY_DATABASE_SILENT' }, 'pool.connect: refused');
  const viaCallback = await new Promise<Error | undefined>((resolve) => pool.connect((error) => resolve(error)));
  t.match(viaCallback, { code: 'TALLY_DATABASE_SILENT' }, 'pool.connect with a callback: refused');

  proxy.heal();
  await eventually(async () => !gate.silent);
  t.same((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'answers again once a probe got through');
});
