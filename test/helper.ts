import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { freePort } from '../src/db/embedded-postgres.js';
import { createTestDatabase, SERVER_ENV, startTestServer } from './database.js';
import { createStripeClient } from '../src/stripe/client.js';
import { createStripeSimulator, type StripeSimulator } from '../src/simulator/index.js';
import type Stripe from 'stripe';

export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef0123456789abcdef';

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

export interface BuildOptions {
  env?: Record<string, string>;
  databaseUrl?: string;
  /** Listen on a real port, and point the simulator's webhook deliveries at it. */
  listen?: boolean;
  /** The port to listen on (default: a free one). */
  port?: number;
  retrySchedule?: number[];
  /** The key Tally's Stripe client uses (the simulator refuses sk_test_invalid...). */
  stripeSecretKey?: string;
  /** Another app's simulator: two Tallys on one Stripe account (the other app closes it). */
  stripeOf?: TestApp;
}

export interface TestApp {
  app: FastifyInstance;
  simulator: StripeSimulator;
  simulatorUrl: string;
  /** A Stripe client on the simulator, as Tally's own. */
  stripe: Stripe;
  /** Tally's base URL when listening. */
  url?: string;
  database: Database;
  databaseUrl: string;
  config: Config;
  logs: string[];
  serviceKey: string;
  /** app.inject with the service key (or `key`) and JSON. */
  call(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
}

/** Builds Tally against a fresh database of its own; closed when the test ends. */
export async function build(t: TestContext, options: BuildOptions = {}): Promise<TestApp> {
  const url = options.databaseUrl ?? (await createTestDatabase(await serverUrl(t)));
  const config = loadConfig({ LOG_LEVEL: 'info', TALLY_ADMIN_KEY: ADMIN_KEY, DATABASE_URL: url, SWEEP_INTERVAL_MS: '60000', WEBHOOK_RETRY_INTERVAL_MS: '200',
    // Reconciliation passes run when a test says so (or sets an interval): one starting by itself
    // 30 s in could meet a test's injected Stripe failure.
    CHECKOUT_RECONCILE_INTERVAL_MS: '0', ...options.env });
  const simulator = options.stripeOf?.simulator ?? createStripeSimulator({ webhookSecret: WEBHOOK_SECRET, retrySchedule: options.retrySchedule ?? [100, 200, 400, 800, 1600] });
  const simulatorUrl = options.stripeOf?.simulatorUrl ?? (await simulator.listen(0));
  if (!options.stripeOf) t.teardown(() => simulator.close());
  const stripe = createStripeClient({ secretKey: options.stripeSecretKey ?? 'sk_test_tally', apiUrl: simulatorUrl, timeoutMs: Number(options.env?.STRIPE_TIMEOUT_MS ?? 5000), maxRetries: Number(options.env?.STRIPE_MAX_RETRIES ?? 0) });
  const database = openDatabase(url, 10, config.DATABASE_TIMEOUT_MS);
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const port = options.listen ? (options.port ?? (await freePort())) : 3000;
  const publicUrl = `http://127.0.0.1:${port}`;
  const app = await buildApp({ config, database, logStream, billing: { stripe, webhookSecret: WEBHOOK_SECRET, publicUrl } });
  await app.ready();
  let base: string | undefined;
  if (options.listen) {
    const address = await app.listen({ port, host: '127.0.0.1' });
    base = address;
    simulator.setWebhookUrl(`${address}/v1/webhooks/stripe`);
  }
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
  return { app, simulator, simulatorUrl, stripe, url: base, database, databaseUrl: url, config, logs, serviceKey: service.secret, call };
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

/** Polls until `check` returns a truthy value (or fails the test after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A Stripe event as Stripe would deliver it, signed with the SDK's own helper. */
export function signedEvent(stripe: Stripe, type: string, object: unknown, options: { id?: string; secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(
    {
      id: options.id ?? `evt_test_${Math.random().toString(36).slice(2)}`,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    },
    null,
    2,
  );
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp });
  return { payload, header };
}
