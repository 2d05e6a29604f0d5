import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedUrl, freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded-postgres.js';
import { applyMigrations } from '../src/db/migrations.js';

export const TEMPLATE = 'tally_template';

/** The server URL (any database) under which tests create their own databases from the template. */
export const SERVER_ENV = 'TALLY_TEST_SERVER_URL';

export function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Starts a throwaway embedded PostgreSQL with a migrated template database. */
export async function startTestServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-test-pg-'));
  const db = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  await admin.end();
  await applyMigrations(withDatabase(db.url, TEMPLATE));
  return {
    url: db.url,
    async stop() {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** A fresh database of its own for one test: a copy of the migrated template (or of another: template1 is empty). */
export async function createTestDatabase(serverUrl: string, template = TEMPLATE): Promise<string> {
  const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    // Copying a template fails while another copy of it is being made: take turns.
    await admin.query('SELECT pg_advisory_lock(7220)');
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    await admin.query('SELECT pg_advisory_unlock(7220)');
  } finally {
    await admin.end();
  }
  return withDatabase(serverUrl, name);
}

export interface OwnServer {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of one test's own, which it may stop and start again on the same port and
 * data (the shared server's databases are other tests'). `started: false` leaves it to the test to
 * start, its URL known before; a started one has Tally's migrations applied.
 */
export async function startOwnServer(t: { teardown(fn: () => unknown): void }, { started = true } = {}): Promise<OwnServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-own-pg-'));
  const port = await freePort();
  let server: EmbeddedDatabase | undefined;
  t.teardown(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const own: OwnServer = {
    url: embeddedUrl(port),
    async start() {
      server = await startEmbeddedPostgres({ dataDir, port });
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
  if (started) {
    await own.start();
    await applyMigrations(own.url);
  }
  return own;
}
