// npm run migrate: applies pending migrations to DATABASE_URL, as a start does (the same checks, the
// same wait DATABASE_WAIT_SECONDS for PostgreSQL to answer, and the same wait for another process that
// is migrating), then exits.
// --engine: only what `prisma migrate deploy` does, with Prisma's schema engine (how a start runs it, in a child).
import { ConfigError, loadConfig, type Config } from '../config.js';
import { migrateAtStart } from './migrate-in-child.js';
import { MigrationRefusal } from './migration-refusal.js';
import { applyMigrations } from './migrations.js';
import { DatabaseStartError, waitForDatabase } from './wait-for-database.js';

// Only the settings this command reads: a migration step need not carry the server's Stripe settings.
let config: Config;
try {
  config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATABASE_WAIT_SECONDS: process.env.DATABASE_WAIT_SECONDS });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(78);
}
const url = config.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set: nothing to migrate (npm start migrates its embedded database itself)');
  process.exit(2);
}
try {
  await waitForDatabase(url, config.DATABASE_WAIT_SECONDS, (line) => console.error(line));
  if (process.argv.includes('--engine')) {
    const applied = await applyMigrations(url);
    console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: the database is up to date');
  } else if (!(await migrateAtStart(url, (line) => console.log(line)))) {
    console.log('migrations: nothing to apply');
  }
} catch (error) {
  if (error instanceof MigrationRefusal || error instanceof DatabaseStartError) {
    console.error(error.message);
    process.exit(1);
  }
  // The engine's own message names the migration and Prisma's error code; its stack is WebAssembly's.
  const { code, message } = error as { code?: string; message?: string };
  console.error(`${code ? `${code}: ` : ''}${message ?? String(error)}`);
  process.exit(1);
}
