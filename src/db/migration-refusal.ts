import type { MigrationState } from './migrations-applied.js';

/** A start that must not go on with the database's migrations as they are; the message says why and what to do. */
export class MigrationRefusal extends Error {
  override name = 'MigrationRefusal';
}

const LOGS_SHOWN = 600;

/** Why a start must stop, or undefined: a file edited after it was applied, or a migration that failed. */
export function migrationRefusal({ changed, failed }: MigrationState): MigrationRefusal | undefined {
  if (changed.length) {
    const names = changed.join(', ');
    return new MigrationRefusal(
      `${changed.length === 1 ? 'migration' : 'migrations'} ${names} ${changed.length === 1 ? 'differs' : 'differ'} from the file this database applied (its checksum in _prisma_migrations): ` +
        'an applied migration must never be edited. Deploy the version whose prisma/migrations this database applied, and put the change in a new migration',
    );
  }
  if (failed.length) {
    const { name, startedAt, logs } = failed[0];
    const error = (logs ?? 'no error recorded').trim().replace(/\s+/g, ' ').slice(0, LOGS_SHOWN);
    return new MigrationRefusal(
      `migration ${name} failed (started ${startedAt.toISOString()}): ${error}. Nothing more is applied until it is resolved: ` +
        `make the database what the migration expects (a migration's statements run as one transaction, so a failed one usually left nothing), ` +
        `then UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${name}' AND finished_at IS NULL, and the next start applies it again ` +
        `(or, where Prisma's CLI runs, prisma migrate resolve --rolled-back ${name}; --applied if it was completed by hand)`,
    );
  }
  return undefined;
}
