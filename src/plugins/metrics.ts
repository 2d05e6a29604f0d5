import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { eventBacklog } from '../db/stripe-event-queries.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

/** This app's Prometheus metrics (one registry per app, so that apps in one process do not share counts). */
export interface Metrics {
  contentType: string;
  /** The text exposition of every metric, with the figures read from the database brought up to date. */
  scrape(): Promise<string>;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics, served by the /metrics route (routes/health.ts) with prom-client: Node's own
 * (CPU, memory, GC, event loop lag), every HTTP response by route and status, and what the ledger,
 * the pool and the webhook queue are doing. The ledger's and the pool's figures are read from their
 * own counters when scraped, so the hot path pays only for the response histogram.
 */
export default fp(
  async (app) => {
    const register = new Registry();
    collectDefaultMetrics({ register });
    observeResponses(app, register);

    const ledger = app.ledger;
    const readThrough = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [register],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    readThrough('tally_ledger_batches_total', 'Ledger transactions run (a batch that failed as a whole and was run again command by command counts each run)', () => ledger.batchStats().batches);
    readThrough('tally_ledger_commands_total', 'Ledger commands (spends, grants, holds, captures, releases, ...) run in those transactions', () => ledger.batchStats().commands);
    readThrough('tally_ledger_failed_batches_total', 'Ledger transactions that failed as a whole (their commands are then run one by one, unless the database did not answer)', () => ledger.batchStats().failed);
    readThrough('tally_ledger_cache_decided_total', "Ledger batches decided on this process's kept account states, without a load", () => ledger.cacheStats().decided);
    readThrough('tally_ledger_cache_refused_total', 'Ledger batches whose kept states PostgreSQL refused (another process had written the accounts)', () => ledger.cacheStats().refused);
    readThrough('tally_ledger_cache_pauses_total', 'Times the account cache paused because most of its kept states were refused', () => ledger.cacheStats().pauses);
    readThrough('tally_foreign_stripe_objects_total', 'Times a checkout session or subscription made by another Tally on the same Stripe account was met (an event, a sync) and left alone (README, Deployment)', () => app.instance.foreignObjectsSeen);
    gauge(register, 'tally_ledger_commands_waiting', 'Ledger commands waiting for a transaction', () => ledger.batchStats().waiting);
    gauge(register, 'tally_database_silent', 'Whether the database has gone silent (1: every request that needs it is a 503 at once until it answers again)', () => (app.db.silence.silent ? 1 : 0));
    gauge(register, 'tally_ledger_cache_accounts', 'Accounts whose state this process keeps', () => ledger.cacheStats().accounts);

    const pool = app.db.pool;
    new Gauge({
      name: 'tally_db_pool_connections',
      help: 'Connections of the PostgreSQL pool: open, idle, and requests waiting for one',
      labelNames: ['state'],
      registers: [register],
      collect() {
        this.set({ state: 'open' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });

    // Read from the database when scraped. A database that does not answer leaves these out of the
    // scrape (and /readyz says why), rather than failing the scrape and hiding the rest.
    const backlog = new Gauge({ name: 'tally_webhook_events_backlog', help: 'Stripe events stored but not yet processed, by status (failed: waiting for a retry)', labelNames: ['status'], registers: [register] });
    const oldest = new Gauge({ name: 'tally_webhook_events_oldest_seconds', help: 'Age of the oldest Stripe event not yet processed, by status (0 when there is none)', labelNames: ['status'], registers: [register] });
    const readBacklog = async () => {
      backlog.reset();
      oldest.reset();
      try {
        const rows = await eventBacklog(pool);
        for (const status of ['pending', 'failed'] as const) {
          const row = rows.find((r) => r.status === status);
          backlog.set({ status }, row?.count ?? 0);
          oldest.set({ status }, row?.oldestSeconds ?? 0);
        }
      } catch (error) {
        app.log.warn({ err: error }, 'metrics: the webhook backlog could not be read');
      }
    };
    app.decorate('metrics', {
      contentType: register.contentType,
      scrape: async () => {
        await readBacklog();
        return register.metrics();
      },
    } satisfies Metrics);
  },
  { name: 'metrics', dependencies: ['services'] },
);

function gauge(register: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [register],
    collect() {
      this.set(read());
    },
  });
}

/**
 * Every response, by method, route pattern (not the URL: its ids would make a series each) and
 * status code. The labelled child is looked up once per combination, not hashed on every response.
 */
function observeResponses(app: FastifyInstance, register: Registry): void {
  const histogram = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'HTTP responses: time from the request to the response, by method, route and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: DURATION_BUCKETS,
    registers: [register],
  });
  const children = new Map<string, ReturnType<typeof histogram.labels>>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (!child) {
      child = histogram.labels({ method: request.method, route, status_code: String(reply.statusCode) });
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}
