import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningTally {
  child: ChildProcess;
  url: string;
  adminKey?: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where and how to start it, when not as `npm start` does from the repository. */
export interface Launch {
  cwd?: string;
  /** node's arguments (default: dist/server.js). */
  args?: string[];
  /** What `env` is added to (default: this process's environment, at LOG_LEVEL warn). */
  baseEnv?: Record<string, string | undefined>;
  /** Told all the output so far at each piece of it, before the banner too. */
  onOutput?: (output: string) => void;
}

/** Starts `npm start`'s entry point (dist/server.js, built by test/run.ts) as a real process and waits for its banner. */
export async function startTally(env: Record<string, string>, timeoutMs = 60_000, launch: Launch = {}): Promise<RunningTally> {
  // As the Dockerfile runs it: one process, so that a signal (even SIGKILL) reaches the server itself.
  const child = spawn(process.execPath, launch.args ?? ['dist/server.js'], {
    cwd: launch.cwd ?? ROOT,
    env: { ...(launch.baseEnv ?? { ...process.env, LOG_LEVEL: 'warn' }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const heard = (chunk: Buffer) => {
    output += chunk;
    launch.onOutput?.(output);
  };
  child.stdout!.on('data', heard);
  child.stderr!.on('data', heard);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Tally did not start:\n${output}`)), timeoutMs);
    const check = () => {
      if (/Tally is listening on/.test(output) && /admin key:/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`Tally exited:\n${output}`));
    });
  });
  const url = /Tally is listening on (\S+)/.exec(output)![1];
  const adminKey = /admin key:\s+(tally_admin_\S+)/.exec(output)?.[1];
  return {
    child,
    url,
    adminKey,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
