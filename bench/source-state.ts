import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Which code was measured: the commit, and the files of src/ and prisma/ changed since (read-only git). */
export function readSourceState(): { commit?: string; changedFiles?: string[] } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), changedFiles: git('status', '--porcelain', '--', 'src', 'prisma').split('\n').filter(Boolean) };
  } catch {
    return {};
  }
}
