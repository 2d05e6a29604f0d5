// npm run migrate: applies pending migrations to DATABASE_URL (what `prisma migrate deploy` does).
import { applyMigrations } from './migrations.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set: nothing to migrate (npm start migrates its embedded database itself)');
  process.exit(2);
}
try {
  const applied = await applyMigrations(url);
  console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: the database is up to date');
} catch (error) {
  // The engine's own message names the migration and Prisma's error code; its stack is WebAssembly's.
  const { code, message } = error as { code?: string; message?: string };
  console.error(`${code ? `${code}: ` : ''}${message ?? String(error)}`);
  process.exit(1);
}
