import t, { type Test } from 'tap';
import pg from 'pg';
import { createTestDatabase } from '../database.js';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { ADMIN_KEY, build, eventually, key, serverUrl } from '../helper.js';
import { ROOT, startTally } from './process.js';

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

/** A raw TCP connection to `port` that sends `sent` (if any): what came back, and when it closed. */
function rawConnection(port: number, sent = '') {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => undefined); // a reset is a close too
  if (sent) socket.write(sent);
  return { socket, closed: new Promise<void>((resolve) => socket.on('close', () => resolve())), received: () => received };
}

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
  await eventually(async () => acknowledged.length > 0, 60_000); // a slow machine may not have answered one yet
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

t.test('connections on which no request has fully come do not hold the shutdown: they are closed, unanswered, and the process stops with exit code 0', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const tally = await startTally({ DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' });
  t.teardown(() => tally.child.kill('SIGKILL'));
  const { port } = new URL(tally.url);
  // One as an HTTP client opens ahead of use (undici's fetch does), one whose request headers have only partly come.
  const silent = rawConnection(Number(port));
  const partial = rawConnection(Number(port), `GET /v1/accounts/acct_x/balance HTTP/1.1\r\nHost: tally\r\nAuthorization: Bea`);
  // Connections are accepted in the order they came: once a later one is answered, both are the server's.
  t.equal((await fetch(`${tally.url}/healthz`)).status, 200);

  const exitCode = await tally.stop('SIGTERM');
  t.equal(exitCode, 0, 'a graceful stop, not held until the request timeout and given up after the 10 s grace (exit 1)');
  t.notMatch(tally.output(), /did not finish in time/);
  await Promise.all([silent.closed, partial.closed]);
  t.equal(silent.received(), '', 'the silent connection was closed without an answer');
  t.equal(partial.received(), '', 'and the one with half a request, which was never begun');
});

t.test('a request that comes on an open keep-alive connection while Tally shuts down is a 503 shutting_down in the error shape, with Retry-After', async (t) => {
  const ctx = await build(t, { listen: true });
  await ctx.call('PUT', '/v1/accounts/acct_stop', {});
  await ctx.call('POST', '/v1/accounts/acct_stop/grants', { amount: 10 }, { 'idempotency-key': key() });
  const { port } = new URL(ctx.url!);
  const { socket, closed, received } = rawConnection(Number(port));
  const auth = `Authorization: Bearer ${ADMIN_KEY}\r\n`;
  // A spend whose body has not all come: the connection is busy, not idle, when the close begins.
  const body = JSON.stringify({ amount: 1 });
  const begun = new Promise((resolve) => ctx.app.server.once('request', resolve));
  socket.write(`POST /v1/accounts/acct_stop/spend HTTP/1.1\r\nHost: tally\r\n${auth}Idempotency-Key: ${key()}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 3)}`);
  await begun; // its headers are in: the spend has begun, whatever the machine's speed
  const closing = ctx.app.close();
  await eventually(async () => !ctx.app.server.listening); // the close has begun (preClose runs before the server stops listening)
  // The rest of that body, and the next request on the same connection.
  socket.write(`${body.slice(3)}GET /v1/accounts/acct_stop/balance HTTP/1.1\r\nHost: tally\r\n${auth}\r\n`);
  await closed;
  await closing;
  const answers = received().split(/(?=HTTP\/1\.1 \d{3} )/).map((answer) => {
    const [head, text] = answer.split('\r\n\r\n');
    return { status: Number(head.slice(9, 12)), head: head.toLowerCase(), body: text };
  });
  t.equal(answers.length, 2, 'both requests answered');
  t.equal(answers[0].status, 200, 'the spend that had begun is served');
  t.equal(answers[1].status, 503, 'the request that came while closing is refused');
  t.match(answers[1].head, /\r\nretry-after: 1\r\n/, 'with Retry-After');
  t.match(answers[1].head, /\r\nconnection: close\r\n/, 'and the connection closed');
  t.match(JSON.parse(answers[1].body), { error: { code: 'shutting_down', message: String } }, 'in the error shape');
});

t.test('a shutdown held past its grace exits with code 1 and says, in the log, which step held it', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  // A spend may wait for its account's lock this long: longer than the 10 s grace.
  const tally = await startTally({ DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0', DATABASE_TIMEOUT_MS: '30000' });
  t.teardown(() => tally.child.kill('SIGKILL'));
  await fetch(`${tally.url}/v1/accounts/acct_held`, { method: 'PUT', headers, body: '{}' });
  await fetch(`${tally.url}/v1/accounts/acct_held/grants`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'held-grant' }, body: JSON.stringify({ amount: 10 }) });

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  t.teardown(() => db.end());
  await db.query("BEGIN; SELECT 1 FROM accounts WHERE id = 'acct_held' FOR UPDATE");
  const spend = fetch(`${tally.url}/v1/accounts/acct_held/spend`, { method: 'POST', headers: { ...headers, 'idempotency-key': 'held-spend' }, body: JSON.stringify({ amount: 1 }) }).catch(() => undefined);
  const other = new pg.Client({ connectionString: databaseUrl });
  await other.connect();
  t.teardown(() => other.end());
  await eventually(async () => (await other.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount! > 0);

  const exitCode = await tally.stop('SIGTERM');
  await db.query('ROLLBACK');
  await spend;
  t.equal(exitCode, 1, 'close-with-grace gave up after its grace');
  const said = tally
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    })
    .filter((entry) => entry.msg === 'the shutdown did not finish in time: exiting with code 1');
  t.equal(said.length, 1, 'one line says so');
  t.match(said[0], { level: 50, graceMs: 10_000, step: /^closing the server: in-flight requests/ }, 'an error, naming the step: the server, waiting for the request held on the lock');
});

/** A port nothing listens on: a DATABASE_URL there is a database that is not there (yet). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** dist/server.js (in `prefix`, e.g. a PID namespace) waiting for a database that is not there: its output, exit code and signal. */
async function startWaiting(t: Test, prefix: string[] = []) {
  const env = { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: `postgresql://tally:tally@127.0.0.1:${await closedPort()}/tally`, DATABASE_WAIT_SECONDS: '600', TALLY_ADMIN_KEY: ADMIN_KEY, PORT: '0', STRIPE_SIMULATOR_PORT: '0' };
  const [command, ...args] = [...prefix, process.execPath, 'dist/server.js'];
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await eventually(async () => /waiting for PostgreSQL/.test(output), 30_000);
  /** Whether it exits within `ms`, and how. */
  const exitWithin = (ms: number) => Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms))]);
  return { child, output: () => output, exitWithin };
}

t.test('SIGTERM while Tally is still starting (waiting for its database) ends it at once: exit code 143, saying so on stderr', async (t) => {
  const tally = await startWaiting(t);
  tally.child.kill('SIGTERM');
  t.same(await tally.exitWithin(5_000), { code: 143, signal: null }, 'exit code 143, from its own handler (not the default action: signal SIGTERM)');
  t.match(tally.output(), /^Tally stopped while starting \(SIGTERM\): it was not serving yet$/m);
  t.notMatch(tally.output(), /Tally is listening/);

  const interrupted = await startWaiting(t);
  interrupted.child.kill('SIGINT');
  t.same(await interrupted.exitWithin(5_000), { code: 130, signal: null }, 'SIGINT (Ctrl-C): 130');
});

t.test('as PID 1 (a container without an init), SIGTERM while starting is not ignored', async (t) => {
  const unshare = spawnSync('unshare', ['-Urpf', '--mount-proc', 'true']);
  if (unshare.status !== 0) {
    t.comment(`skipped: unshare cannot make a PID namespace here: ${unshare.error?.message ?? String(unshare.stderr)}`);
    return;
  }
  // --kill-child: unshare killed (the teardown) takes the namespace's node with it.
  const tally = await startWaiting(t, ['unshare', '-Urpf', '--mount-proc', '--kill-child']);
  // The node process unshare forked: PID 1 in its namespace. A signal to it from outside is delivered only if it has a handler.
  const [pid] = readFileSync(`/proc/${tally.child.pid}/task/${tally.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  t.ok(pid > 0, 'found node under unshare');
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  process.kill(pid, 'SIGTERM');
  t.same(await tally.exitWithin(5_000), { code: 143, signal: null }, 'it stops at once, with 143 (unshare passes its exit code on)');
  t.match(tally.output(), /Tally stopped while starting \(SIGTERM\)/);
});
