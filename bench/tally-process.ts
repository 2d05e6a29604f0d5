import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/db/embedded-postgres.js';
import { readProcessStats, type ProcessStats } from './process-stats.js';

export interface TallyProcess {
  url: string;
  pid: number;
  stats(): ProcessStats | undefined;
  /** The highest VmRSS seen by sampling every 250 ms (VmHWM says the same from the kernel). */
  sampledPeakRssMb(): number;
  /** Log lines at level error or fatal (pino levels 50, 60). */
  errorLines(): string[];
  outputTail(): string;
  /** SIGTERM (Tally drains and exits), SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface TallyProcessOptions {
  databaseUrl: string;
  adminKey: string;
  nodeArgs: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
  /** The checkout to build and run (default: this one); bench/ab.ts runs another commit's. */
  root?: string;
}

const THIS_CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const KEEP_OUTPUT = 64 * 1024;
/** Variables of the bench's own environment that would point Tally elsewhere (a real Stripe, another port). */
const NOT_INHERITED = /^(PORT|HOST|PUBLIC_URL|DATABASE_URL|LOG_LEVEL|TALLY_.*|STRIPE_.*)$/;

/** Builds and starts `npm start`'s entry point (dist/server.js of `root`) as a process of its own, on 127.0.0.1, and waits for its banner. */
export async function startTallyProcess(options: TallyProcessOptions): Promise<TallyProcess> {
  const root = options.root ?? THIS_CHECKOUT;
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`npm run build failed (exit ${built.status})`);
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !NOT_INHERITED.test(name)));
  const child = spawn(process.execPath, [...options.nodeArgs, 'dist/server.js'], {
    cwd: root,
    env: { ...env, ...options.env, DATABASE_URL: options.databaseUrl, PORT: String(port), HOST: '127.0.0.1', TALLY_ADMIN_KEY: options.adminKey, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  let output = '';
  const errors: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-KEEP_OUTPUT);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (/"level":(50|60)\b/.test(line) && errors.length < 1000) errors.push(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      process.off('exit', killOnExit);
      resolve(exitCode);
    }),
  );

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Tally did not start within ${(options.timeoutMs ?? 90_000) / 1000} s:\n${output}`)), options.timeoutMs ?? 90_000);
    const ready = () => {
      if (!/Tally is listening on/.test(output)) return;
      clearTimeout(timer);
      child.stdout.off('data', ready);
      resolve();
    };
    child.stdout.on('data', ready);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Tally exited with code ${code} before listening:\n${output}`));
    });
  });

  const pid = child.pid!;
  let sampledPeak = 0;
  const sampler = setInterval(() => {
    const stats = readProcessStats(pid);
    if (stats) sampledPeak = Math.max(sampledPeak, stats.rssMb);
  }, 250);
  sampler.unref();

  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stats: () => readProcessStats(pid),
    sampledPeakRssMb: () => sampledPeak,
    errorLines: () => [...errors],
    outputTail: () => output,
    async stop() {
      clearInterval(sampler);
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
