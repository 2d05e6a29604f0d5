// npm test: builds dist/ (the server-process tests run what npm start runs), starts one embedded
// PostgreSQL for the whole run (each test file copies a migrated template database), then runs tap
// over test/**/*.test.ts. Arguments are passed to tap.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { SERVER_ENV, startTestServer } from './database.js';
import { TapFailures } from './tools/tap-failures.js';

const built = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
const server = process.env[SERVER_ENV] ? undefined : await startTestServer();
const env = { ...process.env, ...(server ? { [SERVER_ENV]: server.url } : {}) };
const args = process.argv.slice(2);
// One test file more than cores: many wait part of their time (for a process, a lock, a timer), and
// with only as many as cores a core sat idle meanwhile. On 2 cores: 556 and 602 s, against 629 and 674 s.
if (!args.some((arg) => /^(--jobs|-j)/.test(arg))) args.unshift(`--jobs=${availableParallelism() + 1}`);
const tap = spawn('npx', ['tap', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
let tail = '';
const failures = new TapFailures();
tap.stdout.setEncoding('utf8');
tap.stdout.on('data', (chunk: string) => {
  process.stdout.write(chunk);
  tail = (tail + chunk).slice(-4000);
  failures.read(chunk);
});
const code: number = await new Promise((resolve) => tap.on('exit', (c) => resolve(c ?? 1)));
await server?.stop();
// tap's own summary is "# { total, pass, fail }"; this is the plain line CI reads.
// Failures again at the end: CI shows only the last lines of what ran.
process.stdout.write(failures.report());
const summary = /# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/.exec(tail);
if (summary) process.stdout.write(`\n${summary[2]} passed, ${summary[3] ?? 0} failed\n`);
process.exit(code);
