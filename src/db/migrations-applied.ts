import { createHash } from 'node:crypto';
import pg from 'pg';
import { readMigrationFiles } from './migration-files.js';

type AppliedRow = { migration_name: string; checksum: string; finished: boolean; rolled_back: boolean; started_at: Date; logs: string | null };

/** prisma/migrations against `_prisma_migrations` (rows rolled back left out), by migration name. */
export interface MigrationState {
  /** In prisma/migrations, not recorded applied: the schema engine's work. */
  pending: string[];
  /** Recorded as started and never finished: Prisma applies nothing more until it is resolved. */
  failed: Array<{ name: string; startedAt: Date; logs: string | null }>;
  /** Recorded applied with a checksum its file here no longer has: the file was edited since. */
  changed: string[];
  /** Recorded applied, not in prisma/migrations: a newer version applied them (a deploy rolled back). */
  unknown: string[];
  /** A migration recorded applied more than once: only the engine can judge it. */
  duplicated: string[];
  /**
   * Indexes PostgreSQL keeps INVALID in this schema, read only when a migration failed: a CREATE INDEX
   * CONCURRENTLY that fails half-way leaves its index behind, unusable, and the migration, applied
   * again, would fail on its name.
   */
  invalidIndexes: string[];
}

/**
 * Prisma's checksum of a migration.sql (SHA-256 of its text). Like Prisma, a file whose line endings
 * were changed by a checkout (CRLF and LF) still matches.
 */
function matchesChecksum(sql: string, checksum: string): boolean {
  const lf = sql.replace(/\r\n/g, '\n');
  return [sql, lf, lf.replace(/\n/g, '\r\n')].some((text) => createHash('sha256').update(text).digest('hex') === checksum);
}

/** One query: what `_prisma_migrations` records, against the files of this version. */
export async function readMigrationState(databaseUrl: string): Promise<MigrationState> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const files = await readMigrationFiles();
    const exists = await client.query<{ found: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS found`);
    const { rows } = exists.rows[0].found
      ? await client.query<AppliedRow>(
          `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back, started_at, logs
             FROM _prisma_migrations ORDER BY started_at`,
        )
      : { rows: [] as AppliedRow[] };
    const state: MigrationState = { pending: [], failed: [], changed: [], unknown: [], duplicated: [], invalidIndexes: [] };
    const applied = new Map<string, AppliedRow>();
    for (const row of rows) {
      if (row.rolled_back) continue;
      if (!row.finished) state.failed.push({ name: row.migration_name, startedAt: row.started_at, logs: row.logs });
      else if (applied.has(row.migration_name)) state.duplicated.push(row.migration_name);
      else applied.set(row.migration_name, row);
    }
    const known = new Set(files.map((file) => file.name));
    for (const { name, sql } of files) {
      const row = applied.get(name);
      if (!row) {
        if (!state.failed.some((failed) => failed.name === name)) state.pending.push(name);
      } else if (!matchesChecksum(sql, row.checksum)) state.changed.push(name);
    }
    state.unknown = [...applied.keys()].filter((name) => !known.has(name));
    if (state.failed.length) {
      const invalid = await client.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname`,
      );
      state.invalidIndexes = invalid.rows.map((row) => row.name);
    }
    return state;
  } finally {
    await client.end();
  }
}

/**
 * Whether the database has every migration of prisma/migrations recorded in `_prisma_migrations` as
 * applied, as written, and nothing else there: no migration failed or still being applied, none it
 * does not know. Then the schema engine has nothing to do.
 */
export function upToDate(state: MigrationState): boolean {
  return Object.values(state).every((list: unknown[]) => list.length === 0);
}
