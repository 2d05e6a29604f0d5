import pg from 'pg';

/** The code of the error a connection asked for while the database is silent fails with, at once. */
export const DATABASE_SILENT = 'TALLY_DATABASE_SILENT';

/** How often a silent database is asked again (a fresh connection and `SELECT 1`, one at a time). */
const PROBE_INTERVAL_MS = 500;

/**
 * pg's words for "no answer within the time allowed": a new connection whose start-up PostgreSQL did
 * not answer within DATABASE_TIMEOUT_MS, and a query not answered at all (not even by PostgreSQL's
 * own cancellation at its statement_timeout) within the time after it. A refused, reset or closed
 * connection is not silence (it fails at once anyway), and neither is a pool whose connections are
 * all busy, nor a statement cancelled while it waited for a lock: the database answered those.
 */
const SILENCE = ['Connection terminated due to connection timeout', 'Query read timeout'];

export type SilenceChange = { silent: true; reason: string } | { silent: false; silentForMs: number };

/**
 * Knows when the database has gone silent (a partition, a failover that moved its address, a firewall
 * dropping packets: nothing refused, nothing reset), from the pool's own timeouts; from then on every
 * connection asked of the pool fails at once, so a request that needs the database is a 503 at once
 * instead of after DATABASE_TIMEOUT_MS, and requests do not pile up behind it. Meanwhile a fresh
 * connection asks the database every PROBE_INTERVAL_MS (one at a time, within the same timeout); the
 * first answer opens the pool again. Requests already waiting on the database keep their own timeouts.
 */
export class SilenceGate {
  private silentSince: number | null = null;
  private refusal: Error | null = null;
  private probing = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(change: SilenceChange) => void>();

  constructor(private readonly connection: pg.ClientConfig) {}

  get silent(): boolean {
    return this.silentSince !== null;
  }

  /** The error to fail a connection with now, if the database is silent. */
  refuse(): Error | null {
    return this.refusal;
  }

  /** Takes note of a failure of the pool or of one of its connections. */
  observe(error: unknown): void {
    const message = error instanceof Error ? error.message : '';
    if (this.silentSince !== null || !SILENCE.some((words) => message.startsWith(words))) return;
    this.silentSince = Date.now();
    this.refusal = Object.assign(new Error(`The database has not answered since ${new Date(this.silentSince).toISOString()} (${message}); asked again every ${PROBE_INTERVAL_MS} ms`), {
      code: DATABASE_SILENT,
    });
    this.timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
    this.tell({ silent: true, reason: message });
  }

  /** Called with each change: silent, answering again. Returns the call that stops it. */
  listen(listener: (change: SilenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async probe(): Promise<void> {
    if (this.probing || this.silentSince === null) return;
    this.probing = true;
    const client = new pg.Client(this.connection);
    client.on('error', () => {
      // A probe's connection that fails after its query: the next probe asks again.
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
      this.answered();
    } catch {
      // Still silent (or refusing): the next probe asks again.
    } finally {
      this.probing = false;
      void client.end().catch(() => {});
    }
  }

  private answered(): void {
    if (this.silentSince === null) return;
    const silentForMs = Date.now() - this.silentSince;
    this.stop();
    this.silentSince = null;
    this.refusal = null;
    this.tell({ silent: false, silentForMs });
  }

  private tell(change: SilenceChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pg.Pool behind a SilenceGate: while the database is silent, a connection asked for (by the
 * ledger, a read, Prisma, `pool.query`) fails at once with the gate's error; otherwise the pool's
 * failures to connect, and its connections' failed queries, are shown to the gate.
 */
export function gatedPool(config: pg.PoolConfig, gate: SilenceGate): pg.Pool {
  class WatchedClient extends pg.Client {
    // Every form pg's query takes; a query's failure is shown to the gate, and reaches its caller as before.
    query(...args: unknown[]): any {
      const callbackAt = args.findIndex((arg) => typeof arg === 'function');
      if (callbackAt !== -1) {
        const callback = args[callbackAt] as (error: Error | undefined, result: unknown) => void;
        args[callbackAt] = (error: Error | undefined, result: unknown) => {
          if (error) gate.observe(error);
          callback(error, result);
        };
      }
      const result = (super.query as (...a: unknown[]) => unknown)(...args);
      if (callbackAt === -1 && result instanceof Promise) result.catch((error) => gate.observe(error));
      return result;
    }
  }

  class GatedPool extends pg.Pool {
    connect(): Promise<pg.PoolClient>;
    connect(callback: ConnectCallback): void;
    connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
      const refusal = gate.refuse();
      if (callback) {
        if (refusal) return process.nextTick(() => callback(refusal, undefined, () => {}));
        return super.connect((error, client, done) => {
          if (error) gate.observe(error);
          callback(error, client, done);
        });
      }
      if (refusal) return Promise.reject(refusal);
      return super.connect().catch((error: unknown) => {
        gate.observe(error);
        throw error;
      });
    }
  }

  return new GatedPool({ ...config, Client: WatchedClient });
}
