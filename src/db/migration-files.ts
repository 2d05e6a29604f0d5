import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's (or the image's) prisma/ folder, from src/db or dist/db alike. */
export const PRISMA_DIR = join(resolve(fileURLToPath(new URL('../..', import.meta.url))), 'prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

export interface MigrationFile {
  /** The folder's name, as `_prisma_migrations.migration_name` records it. */
  name: string;
  sql: string;
}

/** The migrations in prisma/migrations, oldest first (their folders' names start with a timestamp). */
export async function readMigrationFiles(): Promise<MigrationFile[]> {
  await mkdir(MIGRATIONS_DIR, { recursive: true });
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8') })));
}
