import t from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, eventually, serverUrl } from '../helper.js';
import { startTally } from './process.js';

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

t.test('SIGKILL in the middle of load: no acknowledged spend lost, none half-applied', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const env = { DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' };
  const first = await startTally(env);
  t.teardown(() => first.child.kill('SIGKILL'));
  const accounts = Array.from({ length: 20 }, (_, i) => `acct_kill_${i}`);
  for (const id of accounts) {
    await fetch(`${first.url}/v1/accounts/${id}`, { method: 'PUT', headers, body: '{}' });
    await fetch(`${first.url}/v1/accounts/${id}/grants`, { method: 'POST', headers: { ...headers, 'idempotency-key': `g-${id}` }, body: JSON.stringify({ amount: 100_000 }) });
  }

  const acknowledged: string[] = [];
  let sent = 0;
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop && i < 100_000; i++) {
      const key = `kill-${w}-${i}`;
      sent++;
      try {
        const reply = await fetch(`${first.url}/v1/accounts/${accounts[(w + i) % accounts.length]}/spend`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': key },
          body: JSON.stringify({ amount: 1 + (i % 5) }),
        });
        if (reply.status === 200) acknowledged.push(key);
      } catch {
        return; // the process is gone
      }
    }
  };
  const load = Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));
  // Three seconds of load, and more on a machine too slow to have answered 50 spends by then.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await eventually(async () => acknowledged.length > 50, 60_000);
  first.child.kill('SIGKILL');
  stop = true;
  await load;
  t.ok(acknowledged.length > 50, `spends were acknowledged before the kill (${acknowledged.length} of ${sent})`);

  const second = await startTally(env);
  t.teardown(() => second.child.kill('SIGKILL'));
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  const { rows: keys } = await db.query("SELECT key FROM idempotency_records WHERE key LIKE 'kill-%'");
  const stored = new Set(keys.map((row) => row.key));
  t.equal(acknowledged.filter((key) => !stored.has(key)).length, 0, 'every acknowledged spend is in the database');
  const { rows: spends } = await db.query("SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'spend'");
  t.equal(spends[0].n, stored.size, 'one ledger entry per stored spend: nothing half-applied');
  const { rows: mismatches } = await db.query(`
    SELECT a.id FROM accounts a
    LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
    LEFT JOIN (SELECT account_id, sum(remaining) AS total FROM grants GROUP BY account_id) g ON g.account_id = a.id
    WHERE coalesce(e.total, 0) <> coalesce(g.total, 0)`);
  t.same(mismatches, [], 'for every account, the ledger sums to the balance');
  for (const id of accounts.slice(0, 3)) {
    const balance = await (await fetch(`${second.url}/v1/accounts/${id}/balance`, { headers })).json();
    const { rows } = await db.query('SELECT sum(amount)::bigint AS total FROM ledger_entries WHERE account_id = $1', [id]);
    t.equal(balance.available, Number(rows[0].total), `${id}: the API agrees with the ledger after the restart`);
  }
  // A client retrying an unacknowledged spend after the restart gets the first result or a fresh one, never two.
  const retried = await fetch(`${second.url}/v1/accounts/${accounts[0]}/spend`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'kill-0-0' }, body: JSON.stringify({ amount: 1 }) });
  t.equal(retried.headers.get('idempotent-replayed'), stored.has('kill-0-0') ? 'true' : null);
  t.equal(await second.stop(), 0);
});
