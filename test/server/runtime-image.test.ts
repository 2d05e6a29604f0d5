// The Docker image, without Docker: the Dockerfile's runtime stage is read, its /app laid out in a
// temporary folder (production packages only, as `npm prune --omit=dev` leaves them), and its CMD
// run there as a real process with the image's environment.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { freePort } from '../../src/db/embedded-postgres.js';
import { createTestDatabase } from '../database.js';
import { ADMIN_KEY, serverUrl } from '../helper.js';
import { ROOT, startTally } from './process.js';

interface Copy {
  /** A path in the build stage's /app. */
  source: string;
  /** Where the image holds it, relative to WORKDIR (./ or ./name). */
  target: string;
}

interface RuntimeStage {
  copies: Copy[];
  /** Empty folders the stage makes in /app for the user it runs as. */
  folders: string[];
  env: Record<string, string>;
  exposed: string[];
  cmd: string[];
  healthcheck: string;
}

const splitPair = (pair: string) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];

type Rule = [RegExp, (match: string[], stage: RuntimeStage) => void];

// Only what this test can reproduce; any other line fails it, so that a change to the image is looked at here.
const RULES: Rule[] = [
  // The temporary folder plays WORKDIR; the process runs as whoever runs the tests.
  [/^(?:WORKDIR|USER)\s+\S+$/, () => {}],
  // A folder for the runtime user; the test's user owns the temporary folder anyway.
  [/^RUN\s+mkdir\s+\/app\/([\w.-]+)\s+&&\s+chown\s+node:node\s+\/app\/\1$/, ([, folder], stage) => stage.folders.push(folder)],
  [/^EXPOSE\s+(\d+)$/, ([, port], stage) => stage.exposed.push(port)],
  [/^COPY\s+--from=build\s+(?:--chown=\S+\s+)?\/app\/(\S+)\s+(\.\/\S*)$/, ([, source, target], stage) => stage.copies.push({ source, target })],
  // Values Docker would unquote or expand (quotes, $, \) are not understood.
  [/^ENV\s+((?:\w+=[^\s"'$\\]*\s*)+)$/, ([, pairs], stage) => Object.assign(stage.env, Object.fromEntries(pairs.trim().split(/\s+/).map(splitPair)))],
  // Docker runs this CMD through sh -c: without $, ` or \, the double-quoted script reaches node unchanged.
  [/^HEALTHCHECK\s+(?:--[\w-]+=\S+\s+)*CMD\s+node\s+-e\s+"([^"$`\\]+)"$/, ([, script], stage) => (stage.healthcheck = script)],
  // node itself, not a shell or npm: one process, so that docker stop's SIGTERM reaches the server.
  [/^CMD\s+(\["node"(?:\s*,\s*"[^"]*")*\s*\])$/, ([, json], stage) => (stage.cmd = JSON.parse(json))],
];

/** One entry per instruction: comment lines dropped, continuation lines joined. */
function instructions(dockerfile: string): string[] {
  return dockerfile
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The stage `FROM ... AS runtime`, to the end of the file: another FROM after it is not understood (the image would be that stage). */
function parseRuntimeStage(dockerfile: string): RuntimeStage {
  const all = instructions(dockerfile);
  const from = all.findIndex((line) => /^FROM\s+\S+\s+AS\s+runtime$/i.test(line));
  if (from < 0) throw new Error('Dockerfile: no stage "FROM ... AS runtime"');
  const stage: RuntimeStage = { copies: [], folders: [], env: {}, exposed: [], cmd: [], healthcheck: '' };
  for (const line of all.slice(from + 1)) {
    const rule = RULES.find(([pattern]) => pattern.test(line));
    if (!rule) throw new Error(`Dockerfile's runtime stage: this test does not understand\n  ${line}\nTeach test/server/runtime-image.test.ts what it means for the image.`);
    rule[1](rule[0].exec(line)!, stage);
  }
  if (!stage.cmd.length || !stage.healthcheck) throw new Error("Dockerfile's runtime stage: a CMD [\"node\", ...] and a HEALTHCHECK CMD node -e \"...\" are expected");
  return stage;
}

/** /app as the build stage leaves it, for the paths the runtime stage copies. */
function layOut(app: string, copies: Copy[]): void {
  for (const { source, target } of copies) {
    if (source === 'node_modules') {
      linkProductionPackages(join(app, target));
      continue;
    }
    const from = join(ROOT, source);
    if (!existsSync(from)) throw new Error(`The Dockerfile's runtime stage copies /app/${source}, which the repository does not have (${from})`);
    // Docker's rule: a file copied into a folder (a target ending in /) keeps its name; a folder's contents go into the target.
    const fileIntoFolder = target.endsWith('/') && !statSync(from).isDirectory();
    cpSync(from, join(app, target, fileIntoFolder ? basename(source) : ''), { recursive: true });
  }
}

/**
 * What `npm prune --omit=dev` leaves: each top-level production package, linked (its own nested
 * node_modules come with it). Node resolves a linked package's dependencies from its real path, so
 * this catches Tally's dist/ importing a dev dependency, not a package doing so. No dot-folder is
 * needed: the Prisma client is generated into src/generated and built into dist/; .bin and .cache
 * serve npm scripts and the prisma CLI.
 */
function linkProductionPackages(into: string): void {
  const modules = join(ROOT, 'node_modules');
  const listed = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
  const names = listed
    .split('\n')
    .filter(Boolean)
    .map((path) => relative(modules, path))
    .filter((name) => /^(?:@[^/.][^/]*\/)?[^/.][^/]*$/.test(name));
  for (const name of names) {
    mkdirSync(dirname(join(into, name)), { recursive: true });
    symlinkSync(join(modules, name), join(into, name));
  }
}

/** The HEALTHCHECK as Docker runs it, against `port`: its exit code. */
function healthcheck(script: string, port: string): Promise<number | null> {
  const child = spawn(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, PORT: port }, stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', resolve));
}

/** What a log reader would call errors: pino's error and fatal lines (level 50, 60), or a stack trace. */
function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => {
    try {
      return JSON.parse(line).level >= 50;
    } catch {
      return /\bError\b/.test(line);
    }
  });
}

const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

t.test('the runtime stage, laid out and started as in a container, migrates an empty database, serves, passes its HEALTHCHECK and stops cleanly', async (t) => {
  const image = parseRuntimeStage(dockerfile);
  t.same(image.exposed, [image.env.PORT], 'the image exposes the port it listens on');
  const app = mkdtempSync(join(tmpdir(), 'tally-image-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  layOut(app, image.copies);
  t.ok(image.folders.some((folder) => `/app/${folder}` === image.env.TALLY_DATA_DIR), "the image makes TALLY_DATA_DIR, for a demo's embedded PostgreSQL, writable by its user");
  for (const folder of image.folders) mkdirSync(join(app, folder));

  const env = {
    ...image.env,
    // A free port and loopback instead of the container's 3000 on every interface; no Stripe key, and
    // the built-in simulator asked for (the image is production: without either, Tally refuses to start), on a free port too.
    STRIPE_SIMULATOR: 'on',
    PORT: '0',
    HOST: '127.0.0.1',
    STRIPE_SIMULATOR_PORT: '0',
    TALLY_DATA_DIR: join(app, '.data'),
    DATABASE_URL: await createTestDatabase(await serverUrl(t), 'template1'),
    TALLY_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
  };
  // A container's bare environment (tap still adds its process-info --import to NODE_OPTIONS, by absolute path: it resolves nothing for dist/).
  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const { STRIPE_SIMULATOR: _asked, ...forgotten } = env;
  const refused = spawnSync(process.execPath, image.cmd.slice(1), { cwd: app, env: { ...baseEnv, ...forgotten }, encoding: 'utf8', timeout: 30_000 });
  t.equal(refused.status, 78, 'without a Stripe key, and without asking for the simulator, the image refuses to start (EX_CONFIG)');
  t.match(refused.stderr, /STRIPE_SECRET_KEY: required when NODE_ENV=production/, 'and names the missing key');
  const { DATABASE_URL: _database, ...withoutDatabase } = forgotten;
  const stripe = { STRIPE_SECRET_KEY: 'sk_test_image', STRIPE_WEBHOOK_SECRET: 'whsec_image' };
  const embedded = spawnSync(process.execPath, image.cmd.slice(1), { cwd: app, env: { ...baseEnv, ...withoutDatabase, ...stripe }, encoding: 'utf8', timeout: 30_000 });
  t.equal(embedded.status, 78, 'with a Stripe key but without DATABASE_URL, it refuses too: the ledger would live in the container');
  t.match(embedded.stderr, /DATABASE_URL: required when NODE_ENV=production/, 'and names the missing variable');

  const tally = await startTally(env, 60_000, { cwd: app, args: image.cmd.slice(1), baseEnv });
  t.teardown(() => tally.child.kill('SIGKILL'));
  const request = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
    fetch(`${tally.url}${path}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });

  t.equal((await fetch(`${tally.url}/readyz`)).status, 200, 'ready');
  t.equal((await request('PUT', '/v1/accounts/acct_image', {})).status, 201, 'the tables exist: the process migrated the empty database itself');
  t.equal((await request('POST', '/v1/accounts/acct_image/grants', { amount: 50 }, { 'idempotency-key': 'image-grant' })).status, 201);
  t.equal((await (await request('GET', '/v1/accounts/acct_image/balance')).json()).available, 50);
  t.equal((await fetch(`${tally.url}/docs/`)).status, 200, 'the API docs are served (their files come from node_modules)');
  t.equal((await fetch(`${tally.url}/openapi.json`)).status, 200, 'and the OpenAPI document');

  // The README's key command for the image: `npm run api-key` runs src/ through tsx, and the image has no src/.
  t.notOk(existsSync(join(app, 'src', 'cli', 'api-key.ts')), 'the image holds no src/ for npm run api-key');
  const created = spawnSync(process.execPath, ['dist/cli/api-key.js', 'create', 'image-ops', 'service'], { cwd: app, env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 30_000 });
  t.equal(created.status, 0, `node dist/cli/api-key.js create works in the image: ${created.stderr}`);
  const serviceKey = /^tally_svc_\S+$/m.exec(created.stdout)?.[0] ?? '';
  t.equal((await request('GET', '/v1/accounts/acct_image/balance', undefined, { authorization: `Bearer ${serviceKey}` })).status, 200, 'and its key is accepted');

  const port = new URL(tally.url).port;
  t.equal(await healthcheck(image.healthcheck, port), 0, 'the HEALTHCHECK passes against the running process');
  t.not(await healthcheck(image.healthcheck, String(await freePort())), 0, 'and fails where nothing listens');

  const code = await tally.stop('SIGTERM');
  t.equal(code, 0, 'SIGTERM stops it with exit code 0', code === 0 ? {} : { output: tally.output().slice(-4000) });
  t.same(errorLines(tally.output()), [], 'no error or fatal line in its output');
});

t.test('what the image test cannot reproduce fails it, with the reason', async (t) => {
  t.throws(() => parseRuntimeStage(`${dockerfile}RUN rm -rf dist\n`), /does not understand\n {2}RUN rm -rf dist/);
  t.throws(() => parseRuntimeStage(`${dockerfile}FROM runtime AS debug\n`), /does not understand\n {2}FROM runtime AS debug/);
  t.throws(() => layOut(tmpdir(), [{ source: 'nowhere', target: './nowhere' }]), /copies \/app\/nowhere, which the repository does not have/);
});
