// npm run migrate: applies pending migrations to DATABASE_URL (what `prisma migrate deploy` does).
import { applyMigrations } from './migrations.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set: nothing to migrate (npm start migrates its embedded database itself)');
  process.exit(2);
}
const applied = await applyMigrations(url);
console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
