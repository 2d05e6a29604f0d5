import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { underMigrationLock } from './migration-lock.js';
import { MigrationRefusal, migrationRefusal } from './migration-refusal.js';
import { readMigrationState, upToDate } from './migrations-applied.js';

// Run from src/ (TypeScript, through tsx) or from dist/ (npm run build): the CLI sits beside this file.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(FROM_SOURCE ? './migrate-cli.ts' : './migrate-cli.js', import.meta.url));
/** Prisma's P1002, when the engine gave up waiting for the migration lock (another process took it first). */
const LOCK_TIMEOUT = /advisory lock/;

/**
 * Applies pending migrations in a short-lived child process. Prisma's schema engine is ~40 MB of
 * WebAssembly that a server needs only at start-up; in a child, that memory goes back with it.
 * Resolves with what the child said it did; `lockTimedOut` when the engine gave up on the lock.
 */
export function migrateInChild(databaseUrl: string): Promise<{ said: string[]; lockTimedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, FROM_SOURCE ? ['--import', 'tsx', CLI, '--engine'] : [CLI, '--engine'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    let errors = '';
    child.stdout.on('data', (chunk) => (said += chunk));
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve({ said: said.split('\n').filter(Boolean), lockTimedOut: false });
      else if (LOCK_TIMEOUT.test(errors)) resolve({ said: [], lockTimedOut: true });
      else reject(new MigrationRefusal(`migrations failed (exit ${code}): ${errors.trim()}`));
    });
  });
}

/**
 * What a start does: nothing when every migration is applied already (a restart, the usual case: one
 * query), else, once no other process is migrating, applies them in a child (the engine's WebAssembly
 * takes seconds to load). Refuses (MigrationRefusal) a migration edited after it was applied, or one
 * that failed; says which migrations a newer version applied (a deploy rolled back) and serves.
 * Returns whether the engine ran.
 */
export async function migrateAtStart(databaseUrl: string, notice: (line: string) => void = () => {}): Promise<boolean> {
  if (upToDate(await readMigrationState(databaseUrl))) return false;
  for (;;) {
    const state = await underMigrationLock(databaseUrl, notice, () => readMigrationState(databaseUrl));
    const refusal = migrationRefusal(state);
    if (refusal) throw refusal;
    if (state.unknown.length) {
      notice(`this database has migrations this version of Tally does not know (a newer version applied them): ${state.unknown.join(', ')}; serving on the schema they left`);
    }
    if (!state.pending.length) return false;
    const { said, lockTimedOut } = await migrateInChild(databaseUrl);
    if (lockTimedOut) continue;
    said.forEach(notice);
    return true;
  }
}
