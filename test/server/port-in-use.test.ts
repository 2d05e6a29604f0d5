import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { ROOT } from './process.js';

/** A port some other process listens on (this test's own server). */
const occupy = () =>
  new Promise<{ server: Server; port: number }>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });

/** Runs dist/server.js to its exit: its exit code and everything it wrote. */
function runToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['dist/server.js'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

t.test('a port in use stops the start with exit code 78 and one line naming the variable and the port, no stack trace', async (t) => {
  const databaseUrl = await createTestDatabase(await serverUrl(t));
  const { server, port } = await occupy();
  t.teardown(() => server.close());
  const base = { DATABASE_URL: databaseUrl, TALLY_ADMIN_KEY: ADMIN_KEY, HOST: '127.0.0.1', STRIPE_SIMULATOR_HOST: '127.0.0.1', TALLY_DATA_DIR: '/tmp/unused', NODE_ENV: 'production', STRIPE_SIMULATOR: 'on' };

  const simulator = await runToExit({ ...base, PORT: '0', STRIPE_SIMULATOR_PORT: String(port) });
  t.equal(simulator.code, 78, `the simulator's port taken: exit 78, a configuration problem (output: ${simulator.output})`);
  t.match(simulator.output, new RegExp(`^STRIPE_SIMULATOR_PORT ${port} is in use \\(EADDRINUSE\\): another process listens there; set STRIPE_SIMULATOR_PORT to a free port$`, 'm'));
  t.notMatch(simulator.output, /^\s+at /m, 'no stack trace');
  t.notMatch(simulator.output, /Tally is listening/);

  const http = await runToExit({ ...base, PORT: String(port), STRIPE_SIMULATOR_PORT: '0' });
  t.equal(http.code, 78, `PORT taken: exit 78 (output: ${http.output})`);
  t.match(http.output, new RegExp(`^PORT ${port} is in use \\(EADDRINUSE\\): another process listens there; set PORT to a free port$`, 'm'));
  t.notMatch(http.output, /^\s+at |"stack"|shutting down after an error/m, 'no stack trace, no "shutting down after an error" log line');
  t.notMatch(http.output, /Tally is listening/);
});
