// npm run migrate:new -- <name>: writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL
// that takes the schema as of the newest migration to prisma/schema.prisma. Prisma's engine wants a
// database connection even for that: DATABASE_URL, or a throwaway embedded PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { createMigration } from '../src/db/migrations.js';

const name = process.argv[2];
if (!name) {
  console.error('usage: npm run migrate:new -- <name>');
  process.exit(2);
}
let url = process.env.DATABASE_URL;
let stop = async () => {};
if (!url) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-migrate-'));
  const db = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  url = db.url;
  stop = async () => {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
try {
  const folder = await createMigration(url, name);
  console.log(folder ? `wrote prisma/migrations/${folder}/ (migration.sql and a schema snapshot)` : 'schema and migrations agree: nothing to write');
} finally {
  await stop();
}
