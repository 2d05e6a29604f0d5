import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { createTestDatabase, SERVER_ENV, startTestServer } from './database.js';

export const ADMIN_KEY = 'test_admin_key_0123456789abcdef';

/** The part of tap's test object the helpers use. */
export interface TestContext {
  teardown(fn: () => unknown): void;
}

let ownServer: Promise<{ url: string; stop(): Promise<void> }> | undefined;

/** The PostgreSQL server of this run (npm test starts one); a single file run alone starts its own. */
export async function serverUrl(t: TestContext): Promise<string> {
  const shared = process.env[SERVER_ENV];
  if (shared) return shared;
  if (!ownServer) {
    ownServer = startTestServer();
    t.teardown(async () => (await ownServer)?.stop());
  }
  return (await ownServer).url;
}

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  databaseUrl: string;
  config: Config;
  logs: string[];
  serviceKey: string;
  /** app.inject with the service key (or `key`) and JSON. */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
}

/** Builds Tally against a fresh database of its own; closed when the test ends. */
export async function build(t: TestContext, env: Record<string, string> = {}, databaseUrl?: string): Promise<TestApp> {
  const url = databaseUrl ?? (await createTestDatabase(await serverUrl(t)));
  const config = loadConfig({ LOG_LEVEL: 'info', TALLY_ADMIN_KEY: ADMIN_KEY, DATABASE_URL: url, SWEEP_INTERVAL_MS: '60000', ...env });
  const database = openDatabase(url, 10);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const app = await buildApp({ config, database, logStream });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    await database.close();
  });
  const service = await app.apiKeys.create('test service', 'service');
  const call: TestApp['call'] = async (method, url, body, headers = {}) => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${headers.key ?? ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...omit(headers, 'key') },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    let parsed: unknown = response.body;
    try {
      parsed = JSON.parse(response.body);
    } catch {}
    return { status: response.statusCode, body: parsed, headers: response.headers };
  };
  return { app, database, databaseUrl: url, config, logs, serviceKey: service.secret, call };
}

function omit(headers: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _, ...rest } = headers;
  return rest;
}

let keySeq = 0;
export const key = (prefix = 'k') => `${prefix}-${process.pid}-${Date.now()}-${keySeq++}`;

/** Sums the account's ledger entries straight from the database. */
export async function ledgerSum(database: Database, accountId: string): Promise<{ available: number; held: number; entries: number }> {
  const { rows } = await database.pool.query(
    'SELECT coalesce(sum(amount), 0)::bigint AS available, coalesce(sum(held_change), 0)::bigint AS held, count(*)::int AS entries FROM ledger_entries WHERE account_id = $1',
    [accountId],
  );
  return rows[0];
}
