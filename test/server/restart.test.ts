import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTally } from './process.js';

t.test('npm start with no configuration serves, and keeps every balance across a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { TALLY_DATA_DIR: dataDir, PORT: '0', STRIPE_SIMULATOR_PORT: '0' };

  const first = await startTally(env);
  t.teardown(() => first.child.kill('SIGKILL'));
  t.ok(first.adminKey, 'the banner shows a usable admin key');
  t.match(first.output(), /API docs:\s+http:\/\/\S+\/docs/, 'and the docs URL');
  const auth = { authorization: `Bearer ${first.adminKey}`, 'content-type': 'application/json' };
  const post = (base: string, path: string, body: unknown, extra: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, ...extra }, body: JSON.stringify(body) });
  t.equal((await fetch(`${first.url}/v1/accounts/acct_keep`, { method: 'PUT', headers: auth, body: '{}' })).status, 201);
  t.equal((await post(first.url, '/v1/accounts/acct_keep/grants', { amount: 500 }, { 'idempotency-key': 'g1' })).status, 201);
  t.equal((await post(first.url, '/v1/accounts/acct_keep/spend', { amount: 123 }, { 'idempotency-key': 's1' })).status, 200);
  const pack = await (await post(first.url, '/v1/packs', { name: 'Kept', credits: 100, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': 'p1' })).json();
  const opened = await (await post(first.url, '/v1/checkout/sessions', { accountId: 'acct_keep', packId: pack.id })).json();
  t.match(opened, { status: 'open' }, 'a checkout opened before the restart');
  t.equal(await first.stop('SIGTERM'), 0, 'a graceful stop exits 0');

  const second = await startTally(env);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.equal(second.adminKey, first.adminKey, 'the same development admin key');
  const instance = (run: typeof first) => /instance:\s+(tally_\w+)/.exec(run.output())?.[1];
  t.ok(instance(first), 'the banner names the instance id');
  t.equal(instance(second), instance(first), 'and it is the database\'s, the same after a restart');
  await t.rejects(
    startTally(env, 30_000),
    /Tally exited:[\s\S]*The embedded PostgreSQL in \S+ did not start[\s\S]*postmaster\.pid[\s\S]*another postmaster/,
    'a third start on the same data directory while it runs stops, saying PostgreSQL found it in use',
  );
  const balance = await (await fetch(`${second.url}/v1/accounts/acct_keep/balance`, { headers: auth })).json();
  t.equal(balance.available, 377, 'the balance survived the restart');
  const replay = await post(second.url, '/v1/accounts/acct_keep/spend', { amount: 123 }, { 'idempotency-key': 's1' });
  t.equal((await replay.json()).available, 377, 'and so did the idempotency record');
  // The built-in simulator keeps its objects beside the database: the pack, its customer and the open checkout still work.
  const reopened = await post(second.url, '/v1/checkout/sessions', { accountId: 'acct_keep', packId: pack.id });
  t.equal(reopened.status, 201, `the pack still sells after the restart: ${await reopened.clone().text()}`);
  const synced = await post(second.url, `/v1/checkout/sessions/${opened.id}/sync`, {});
  t.match(await synced.json(), { id: opened.id, status: 'open' }, 'and the checkout opened before it is still known to Stripe');
  t.equal(await second.stop('SIGTERM'), 0);
});

t.test('a wrong configuration value stops the process with a message naming the variable', async (t) => {
  await t.rejects(startTally({ PORT: 'eighty', TALLY_DATA_DIR: '/tmp/unused' }, 20_000), /PORT: .*\(got "eighty"\)/);
  await t.rejects(startTally({ DATABASE_URL: 'mysql://x', TALLY_DATA_DIR: '/tmp/unused' }, 20_000), /DATABASE_URL: a postgresql:\/\/ connection URL/);
});
