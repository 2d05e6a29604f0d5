import t from 'tap';
import pg from 'pg';
import { Prisma } from '../../src/generated/prisma/client.js';
import { isDatabaseRefusalForNow, isDatabaseUnreachable } from '../../src/db/database-unreachable.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const serverError = (code: string) => Object.assign(new pg.DatabaseError('from the server', 0, 'error'), { code });

t.test('errors that say PostgreSQL could not be reached, went away or did not answer in time', async (t) => {
  const unreachable: Array<[string, unknown]> = [
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ["Node's connect to every address of a name", new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'), withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')])],
    ['a reset', withCode('read ECONNRESET', 'ECONNRESET')],
    ['a name that does not resolve', withCode('getaddrinfo ENOTFOUND db', 'ENOTFOUND')],
    ['the server shutting down (admin_shutdown)', serverError('57P01')],
    ['the server starting or recovering (cannot_connect_now)', serverError('57P03')],
    ['too many connections', serverError('53300')],
    ['a connection exception (class 08)', serverError('08006')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ["pg-pool's connection timeout", new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['no connection from the pool in time', new Error('timeout exceeded when trying to connect')],
    ['a statement cancelled at statement_timeout (query_canceled)', serverError('57014')],
    ['a session ended at idle_in_transaction_session_timeout', serverError('25P03')],
    ['no answer within query_timeout', new Error('Query read timeout')],
    ['a connection refused by the silence gate', withCode('The database has not answered since …', 'TALLY_DATABASE_SILENT')],
    [
      "Prisma's driver error for a statement timeout",
      new Prisma.PrismaClientKnownRequestError('Database error. Code: `57014`', {
        code: 'P2039',
        clientVersion: '7',
        meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '57014', originalCode: '57014' } } },
      }),
    ],
    ["Prisma's can't reach the server", new Prisma.PrismaClientKnownRequestError("Can't reach database server", { code: 'P1001', clientVersion: '7' })],
    ['one wrapped as the cause of another', new Error('the query failed', { cause: withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED') })],
  ];
  for (const [name, error] of unreachable) t.ok(isDatabaseUnreachable(error), name);

  const answered: Array<[string, unknown]> = [
    ['a unique violation', serverError('23505')],
    ['a serialization failure', serverError('40001')],
    ['a syntax error', serverError('42601')],
    ["Prisma's record not found", new Prisma.PrismaClientKnownRequestError('No record', { code: 'P2025', clientVersion: '7' })],
    [
      "Prisma's driver error for a unique violation",
      new Prisma.PrismaClientKnownRequestError('Unique constraint failed', { code: 'P2002', clientVersion: '7', meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'UniqueConstraintViolation', originalCode: '23505' } } } }),
    ],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error at all', 'ECONNREFUSED'],
    ['nothing', undefined],
  ];
  for (const [name, error] of answered) t.notOk(isDatabaseUnreachable(error), `not: ${name}`);
});

t.test('errors that say PostgreSQL refused a statement for now, not for what it asks (the refund pass stops at them rather than passing over)', async (t) => {
  const forNow: Array<[string, unknown]> = [
    ['a serialization failure', serverError('40001')],
    ['a deadlock', serverError('40P01')],
    ['a lock not to be had (NOWAIT, lock_timeout)', serverError('55P03')],
    [
      "Prisma's driver error for a write conflict, PostgreSQL's code as originalCode",
      new Prisma.PrismaClientKnownRequestError('Transaction failed due to a write conflict or a deadlock', {
        code: 'P2034',
        clientVersion: '7',
        meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'TransactionWriteConflict', originalCode: '40001' } } },
      }),
    ],
    ['one wrapped as the cause of another', new Error('the refund failed', { cause: serverError('40P01') })],
  ];
  for (const [name, error] of forNow) t.ok(isDatabaseRefusalForNow(error), name);
  const not: Array<[string, unknown]> = [
    ['a foreign key violation', serverError('23503')],
    ['a unique violation', serverError('23505')],
    ['a statement timeout (the database not answering: isDatabaseUnreachable)', serverError('57014')],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['nothing', undefined],
  ];
  for (const [name, error] of not) t.notOk(isDatabaseRefusalForNow(error), `not: ${name}`);
});
