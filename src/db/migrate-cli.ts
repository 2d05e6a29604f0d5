// npm run migrate: applies pending migrations to DATABASE_URL, as a start does (the same checks, and
// the same wait for another process that is migrating), then exits.
// --engine: only what `prisma migrate deploy` does, with Prisma's schema engine (how a start runs it, in a child).
import { migrateAtStart } from './migrate-in-child.js';
import { MigrationRefusal } from './migration-refusal.js';
import { applyMigrations } from './migrations.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set: nothing to migrate (npm start migrates its embedded database itself)');
  process.exit(2);
}
try {
  if (process.argv.includes('--engine')) {
    const applied = await applyMigrations(url);
    console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: the database is up to date');
  } else if (!(await migrateAtStart(url, (line) => console.log(line)))) {
    console.log('migrations: nothing to apply');
  }
} catch (error) {
  if (error instanceof MigrationRefusal) {
    console.error(error.message);
    process.exit(1);
  }
  // The engine's own message names the migration and Prisma's error code; its stack is WebAssembly's.
  const { code, message } = error as { code?: string; message?: string };
  console.error(`${code ? `${code}: ` : ''}${message ?? String(error)}`);
  process.exit(1);
}
