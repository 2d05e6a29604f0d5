import t from 'tap';
import pg from 'pg';
import { Prisma } from '../../src/generated/prisma/client.js';
import { isUniqueViolation } from '../../src/db/unique-violation.js';

const pgError = (code: string, constraint?: string) => Object.assign(new pg.DatabaseError('from the server', 0, 'error'), { code, constraint });

t.test("a unique violation, as pg and Prisma report it; the constraint named when asked for (pg's)", async (t) => {
  t.ok(isUniqueViolation(pgError('23505', 'idempotency_records_pkey')), "pg's 23505");
  t.ok(isUniqueViolation(pgError('23505', 'idempotency_records_pkey'), 'idempotency_records_pkey'), 'on the constraint asked for');
  t.notOk(isUniqueViolation(pgError('23505', 'grants_pkey'), 'idempotency_records_pkey'), 'on another constraint');
  t.ok(isUniqueViolation(new Prisma.PrismaClientKnownRequestError('Unique constraint failed', { code: 'P2002', clientVersion: '7' })), "Prisma's P2002");
  for (const [name, error] of [['a foreign key violation', pgError('23503')], ['a Prisma record not found', new Prisma.PrismaClientKnownRequestError('not found', { code: 'P2025', clientVersion: '7' })], ['not an error', 'P2002'], ['nothing', undefined]] as const) {
    t.notOk(isUniqueViolation(error), name);
  }
});
