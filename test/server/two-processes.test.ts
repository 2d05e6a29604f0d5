import t from 'tap';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { startTally, type RunningTally } from './process.js';

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const request = (base: string, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });

t.test('two Tally processes on one database: 200 spends against 100 credits give exactly 100', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const env = { DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' };
  const processes: RunningTally[] = await Promise.all([startTally(env), startTally(env)]);
  t.teardown(() => processes.forEach((p) => p.child.kill('SIGKILL')));
  const [a, b] = processes.map((p) => p.url);

  t.equal((await request(a, 'PUT', '/v1/accounts/acct_two', {})).status, 201);
  t.equal((await request(b, 'POST', '/v1/accounts/acct_two/grants', { amount: 100 }, { 'idempotency-key': 'grant-two' })).status, 201);
  const replies = await Promise.all(
    Array.from({ length: 200 }, (_, i) => request(i % 2 ? a : b, 'POST', '/v1/accounts/acct_two/spend', { amount: 1 }, { 'idempotency-key': `two-${i}` })),
  );
  const statuses = replies.map((r) => r.status);
  t.equal(statuses.filter((s) => s === 200).length, 100, 'exactly 100 succeed');
  t.equal(statuses.filter((s) => s === 402).length, 100, 'the rest get 402');
  for (const base of [a, b]) t.equal((await (await request(base, 'GET', '/v1/accounts/acct_two/balance')).json()).available, 0, 'both processes see 0');

  // The same key sent to both processes at once debits once.
  await request(a, 'POST', '/v1/accounts/acct_two/grants', { amount: 10 }, { 'idempotency-key': 'grant-two-more' });
  const same = await Promise.all([a, b, a, b].map((base) => request(base, 'POST', '/v1/accounts/acct_two/spend', { amount: 3 }, { 'idempotency-key': 'across' })));
  const bodies = await Promise.all(same.map((r) => r.json()));
  t.same(new Set(bodies.map((body) => JSON.stringify(body))).size, 1, 'one reply for every copy');
  t.equal(bodies[0].available, 7);
  for (const p of processes) t.equal(await p.stop(), 0);
});
