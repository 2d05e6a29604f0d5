import { createHash } from 'node:crypto';
import pg from 'pg';
import { readMigrationFiles } from './migration-files.js';

type AppliedRow = { migration_name: string; checksum: string; finished: boolean; rolled_back: boolean };

/**
 * Whether the database has every migration of prisma/migrations recorded in `_prisma_migrations` as
 * applied, as written (Prisma's checksum: the SHA-256 of migration.sql), and nothing else there: no
 * migration failed or still being applied, none it does not know. Then the schema engine has nothing
 * to do. One query; any doubt (no table yet, a row it does not expect) answers false, and the engine
 * decides, as `prisma migrate deploy` would.
 */
export async function migrationsApplied(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const exists = await client.query<{ found: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`);
    if (!exists.rows[0].found) return false;
    const { rows } = await client.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations`,
    );
    const applied = new Map<string, AppliedRow>();
    for (const row of rows) {
      if (row.rolled_back) continue;
      if (!row.finished || applied.has(row.migration_name)) return false;
      applied.set(row.migration_name, row);
    }
    const files = await readMigrationFiles();
    return (
      applied.size === files.length &&
      files.every(({ name, sql }) => applied.get(name)?.checksum === createHash('sha256').update(sql).digest('hex'))
    );
  } finally {
    await client.end();
  }
}
