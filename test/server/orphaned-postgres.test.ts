import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { isRunning as alive } from '../../src/db/orphaned-postgres.js';
import { startTally } from './process.js';

async function gone(pid: number, timeoutMs = 20_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) if (!alive(pid)) return true;
  return false;
}

t.test('a Tally killed outright leaves its embedded PostgreSQL running; the next start stops it and serves the same ledger', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-orphan-'));
  const env = { TALLY_DATA_DIR: dataDir, PORT: '0', STRIPE_SIMULATOR_PORT: '0' };
  const postmasterPid = () => Number.parseInt(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0], 10);
  const started: number[] = [];
  t.teardown(async () => {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGINT');
    for (const pid of started) await gone(pid);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const first = await startTally(env);
  const firstServer = postmasterPid();
  started.push(firstServer);
  const auth = { authorization: `Bearer ${first.adminKey}`, 'content-type': 'application/json' };
  t.equal((await fetch(`${first.url}/v1/accounts/acct_orphan`, { method: 'PUT', headers: auth, body: '{}' })).status, 201);
  const grant = await fetch(`${first.url}/v1/accounts/acct_orphan/grants`, { method: 'POST', headers: { ...auth, 'idempotency-key': 'g1' }, body: JSON.stringify({ amount: 250 }) });
  t.equal(grant.status, 201);
  await first.stop('SIGKILL');
  await sleep(500);
  t.ok(alive(firstServer), 'the killed Tally\'s PostgreSQL is still running (what every later start used to trip on)');

  const second = await startTally(env);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.match(second.output(), new RegExp(`Stopped the embedded PostgreSQL \\(pid ${firstServer}\\) that a Tally killed earlier left running`), 'the start says what it did');
  t.notOk(alive(firstServer), 'the orphaned server was stopped');
  const secondServer = postmasterPid();
  started.push(secondServer);
  t.not(secondServer, firstServer, 'and a server of its own serves the data folder');
  const balance = await (await fetch(`${second.url}/v1/accounts/acct_orphan/balance`, { headers: auth })).json();
  t.equal(balance.available, 250, 'the grant committed before the kill is there');

  await t.rejects(
    startTally(env, 30_000),
    /The embedded PostgreSQL in \S+ did not start[\s\S]*another postmaster/,
    'a start while that Tally lives leaves its server alone, and fails as before',
  );
  t.ok(alive(secondServer), 'the live Tally\'s server still runs');
  t.equal((await fetch(`${second.url}/v1/accounts/acct_orphan/balance`, { headers: auth })).status, 200, 'and serves');

  t.equal(await second.stop('SIGTERM'), 0, 'a graceful stop exits 0');
  t.ok(await gone(secondServer), 'and stops its server');
  t.notOk(existsSync(join(dataDir, 'postgres.owner')), 'and forgets it owned one');
});

t.test('a process that has exited but is not yet reaped (a zombie) is not running: its server holds no lock', async (t) => {
  // The shell's child exits at once; the shell has become `sleep 5`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => parent.kill('SIGKILL'));
  const zombie = Number.parseInt(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk) => resolve(String(chunk)))), 10);
  await sleep(500);
  t.doesNotThrow(() => process.kill(zombie, 0), 'kill(pid, 0) still finds it');
  t.notOk(alive(zombie), 'but it is not running');
  t.ok(alive(parent.pid!), 'its parent is');
  t.notOk(alive(2 ** 22 + 1), 'nor is a pid no process has');
});
