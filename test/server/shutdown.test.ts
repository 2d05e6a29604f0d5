import t from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { startTally } from './process.js';

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

t.test('SIGTERM under load from keep-alive clients: in-flight requests are answered, then the process stops with exit code 0', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const tally = await startTally({ DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' });
  t.teardown(() => tally.child.kill('SIGKILL'));
  await fetch(`${tally.url}/v1/accounts/acct_stop`, { method: 'PUT', headers, body: '{}' });
  await fetch(`${tally.url}/v1/accounts/acct_stop/grants`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'stop-grant' }, body: JSON.stringify({ amount: 1_000_000 }) });

  // fetch keeps each connection open between requests (Fastify answers Keep-Alive: timeout=72), as a product backend's HTTP client does.
  const acknowledged: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const key = `stop-${w}-${i}`;
      try {
        const reply = await fetch(`${tally.url}/v1/accounts/acct_stop/spend`, { method: 'POST', headers: { ...headers, 'idempotency-key': key }, body: JSON.stringify({ amount: 1 }) });
        if (reply.status === 200) acknowledged.push(key);
        else return;
      } catch {
        return; // closed: the client sends no more
      }
    }
  };
  const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const exitCode = await tally.stop('SIGTERM');
  await load;
  t.equal(exitCode, 0, 'a graceful stop, not close-with-grace giving up after 10 s (exit 1)');
  t.notMatch(tally.output(), /killed by timeout/);

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  const { rows } = await db.query("SELECT key FROM idempotency_records WHERE key LIKE 'stop-%'");
  const stored = new Set(rows.map((row) => row.key));
  t.ok(acknowledged.length > 0, `spends were acknowledged (${acknowledged.length})`);
  t.same(acknowledged.filter((key) => !stored.has(key)), [], 'every acknowledged spend is in the database');
});
