import type { MigrationState } from './migrations-applied.js';

/** A start that must not go on with the database's migrations as they are; the message says why and what to do. */
export class MigrationRefusal extends Error {
  override name = 'MigrationRefusal';
}

const LOGS_SHOWN = 600;

/** Why a start must stop, or undefined: a file edited after it was applied, or a migration that failed. */
export function migrationRefusal({ changed, failed, invalidIndexes }: MigrationState): MigrationRefusal | undefined {
  if (changed.length) {
    const names = changed.join(', ');
    return new MigrationRefusal(
      `${changed.length === 1 ? 'migration' : 'migrations'} ${names} ${changed.length === 1 ? 'differs' : 'differ'} from the file this database applied (its checksum in _prisma_migrations): ` +
        'an applied migration must never be edited. Deploy the version whose prisma/migrations this database applied, and put the change in a new migration',
    );
  }
  if (failed.length) {
    const { name, startedAt, logs } = failed[0];
    const where = `WHERE migration_name = '${name}' AND finished_at IS NULL`;
    const started = startedAt.toISOString();
    // A CREATE INDEX CONCURRENTLY that fails half-way leaves its index INVALID: applied again, the
    // migration would fail on its name, and marked finished, it would leave the index unusable.
    const dropInvalid = invalidIndexes.length
      ? `PostgreSQL keeps ${invalidIndexes.length === 1 ? 'an index' : 'indexes'} INVALID (unusable), as a CREATE INDEX CONCURRENTLY that fails half-way leaves its index: ` +
        invalidIndexes.map((index) => `DROP INDEX CONCURRENTLY "${index}"`).join('; ')
      : undefined;
    if (logs === null) {
      // Killed mid-migration, PostgreSQL finishes the script regardless (it notices a client gone
      // only when it next writes to it), so the schema may well have the migration's changes.
      return new MigrationRefusal(
        `migration ${name} did not finish (started ${started}) and no error is recorded: the process applying it stopped (killed, or cut off from PostgreSQL), ` +
          `and PostgreSQL may have committed it all the same. Nothing more is applied until it is resolved: ${dropInvalid ? `${dropInvalid}; then, ` : ''}if the database has the migration's changes, ` +
          `UPDATE _prisma_migrations SET finished_at = now() ${where}; if it has none, UPDATE _prisma_migrations SET rolled_back_at = now() ${where}, and the next start applies it again`,
      );
    }
    const error = logs.trim().replace(/\s+/g, ' ').slice(0, LOGS_SHOWN);
    return new MigrationRefusal(
      `migration ${name} failed (started ${started}): ${error}. Nothing more is applied until it is resolved: its statements ran as one transaction, ` +
        `so it left nothing unless it commits on its own (CREATE INDEX CONCURRENTLY); make the database what the migration expects` +
        `${dropInvalid ? ` (${dropInvalid})` : ''}, then UPDATE _prisma_migrations SET rolled_back_at = now() ${where}, and the next start applies it again ` +
        `(or, where Prisma's CLI runs, prisma migrate resolve --rolled-back ${name})`,
    );
  }
  return undefined;
}
