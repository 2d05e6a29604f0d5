import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrationsApplied } from './migrations-applied.js';

// Run from src/ (TypeScript, through tsx) or from dist/ (npm run build): the CLI sits beside this file.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CLI = fileURLToPath(new URL(FROM_SOURCE ? './migrate-cli.ts' : './migrate-cli.js', import.meta.url));

/**
 * Applies pending migrations in a short-lived child process. Prisma's schema engine is ~40 MB of
 * WebAssembly that a server needs only at start-up; in a child, that memory goes back with it.
 */
export function migrateInChild(databaseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, FROM_SOURCE ? ['--import', 'tsx', CLI] : [CLI], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrations failed (exit ${code}):\n${errors}`))));
  });
}

/**
 * What a start does: nothing when every migration is applied already (a restart, the usual case: one
 * query), else applies them in a child (the engine's WebAssembly takes seconds to load). Returns
 * whether the engine ran.
 */
export async function migrateAtStart(databaseUrl: string): Promise<boolean> {
  if (await migrationsApplied(databaseUrl)) return false;
  await migrateInChild(databaseUrl);
  return true;
}
