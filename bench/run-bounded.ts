import { spawn } from 'node:child_process';

/**
 * Runs a load tool or baseline (wrk, pgbench) for about `seconds` and returns its output, stdout and
 * stderr together; killed 60 s past its time. Resolves on 'close', not 'exit': the output is complete,
 * and the process reaped, so its CPU time counts in this process's children's.
 */
export function runBounded(binary: string, args: string[], seconds: number, command: string, env?: Record<string, string>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.stderr.on('data', (chunk) => (text += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve(text);
      else reject(new Error(`${command} exited with code ${code}:\n${text}`));
    });
  });
}
