import pg from 'pg';
import Stripe from 'stripe';
import { postEach } from '../post-each.js';
import { statFields } from '../process-stats.js';
import { seedFundedAccounts } from '../seed.js';
import { createSliceMonitor, type Observed } from '../slice-monitor.js';
import { connections, targets } from '../targets.js';
import { checkGrantedOnce } from './check-granted-once.js';
import { checkoutSessionEvent, type PaidSession } from './checkout-events.js';
import { formatRate, type BenchContext, type Scenario } from './scenario.js';
import { waitForEventsSettled, waitForGrants } from './wait-for-webhook-work.js';

const PATH = '/v1/webhooks/stripe';
/** How long the bench waits for the last grant after the last event was answered (the target is far shorter). */
const GRANT_TIMEOUT_MS = 120_000;
/** Events a second the warm-up is sized for (it sends about 1.2 events per session). */
const WARMUP_EVENTS_PER_SECOND = 1000;
/** The bench's own connection to the database, told apart from Tally's pool in pg_stat_activity. */
const BENCH_APPLICATION_NAME = 'tally-bench-webhooks';

interface Delivery {
  eventId: string;
  payload: string;
  /** Stripe-Signature, computed before the timed part: signing is Stripe's work, not Tally's. */
  signature: string;
  /** A redelivery of an event already sent, or a second event about a session already paid. */
  duplicate: boolean;
}

/**
 * Signed Checkout events for distinct paid sessions, as fast as 32 connections send them: accepted
 * per second, time from the last answer until every session is granted, and each granted exactly
 * once although one event in ten is delivered twice and one session in ten also gets
 * `async_payment_succeeded`.
 */
export const webhookIngestScenario: Scenario = {
  name: 'webhooks',
  async run(context) {
    const probe = await context.client.request('POST', PATH, '{}');
    if (probe.status === 404 && probe.body?.error?.code === 'route_not_found') {
      const skipped = `not yet available: Tally has no POST ${PATH}`;
      return { skipped, raw: { probeStatus: probe.status }, rows: [{ scenario: 'webhooks', tally: skipped, baseline: '—', target: 'each granted once' }] };
    }
    const sessions = Math.max(500, Math.round(100 * context.seconds));
    const postmasterPid = await localPostmasterPid(context.databaseUrl);
    // As long a warm-up as the other scenarios get (BENCH_WARMUP_SECONDS of load): both Tally and
    // the sender run their hot paths compiled, not still in the JIT, once measured.
    const warmupSessions = Math.round((WARMUP_EVENTS_PER_SECOND * context.warmupSeconds) / 1.2);
    const warmup = await ingest(context, postmasterPid, `bench-${context.runId}-whw-`, warmupSessions);
    context.log(`  webhooks warm-up: ${warmup.deliveries} events in ${seconds(warmup.sendMs)} s, ${warmup.sessions} sessions granted ${seconds(warmup.grantedAfterLastMs)} s after the last event`);
    const run = await ingest(context, postmasterPid, `bench-${context.runId}-wh-`, sessions);
    context.log(`  sending: ${describe(run.sending)}`);
    // Too short a wait says nothing of who used the CPU.
    if ((run.grantedAfterLastMs ?? Infinity) >= 1000) context.log(`  after the last event, until granted (${seconds(run.grantedAfterLastMs)} s): ${describe(run.granting)}`);
    context.log(`  database, sending to settled: ${(run.database.commits / run.deliveries).toFixed(2)} commits and ${Math.round(run.database.walBytes / run.deliveries)} WAL bytes per event`);

    const acceptedPerSecond = run.accepted / (run.sendMs / 1000);
    const grantedInTime = run.grantedAfterLastMs !== undefined && run.grantedAfterLastMs <= targets.webhookGrantedWithinSeconds * 1000;
    const exact = run.check.exact && run.status5xx === 0;
    return {
      raw: { connections: connections.webhooks, warmup, run, acceptedPerSecond },
      rows: [
        {
          scenario: `webhooks, ${connections.webhooks} conn`,
          tally: `${formatRate(acceptedPerSecond, 'events/s accepted')} (${run.deliveries} sent in ${seconds(run.sendMs)} s, ${run.nonAccepted} not 2xx)`,
          baseline: '—',
          target: `≥ ${formatRate(targets.webhookEventsPerSecond, '/s')}, all 2xx`,
          pass: acceptedPerSecond >= targets.webhookEventsPerSecond && run.nonAccepted === 0,
        },
        {
          scenario: 'webhooks granted',
          tally:
            run.grantedAfterLastMs === undefined
              ? `not all granted ${GRANT_TIMEOUT_MS / 1000} s after the last event`
              : `${run.sessions} sessions, the last ${seconds(run.grantedAfterLastMs)} s after the last event; ${exact ? 'each once' : `${run.check.wrong} not exactly once, ${run.status5xx} 5xx`}`,
          baseline: `${run.duplicates} duplicates sent`,
          target: `each once, ≤ ${targets.webhookGrantedWithinSeconds} s after`,
          pass: exact && grantedInTime,
        },
      ],
    };
  },
};

async function ingest(context: BenchContext, postmasterPid: number | undefined, prefix: string, count: number) {
  const accounts = await seedFundedAccounts(context.databaseUrl, prefix, count, 0);
  const created = Math.floor(Date.now() / 1000);
  const sessions: PaidSession[] = accounts.map((accountId, i) => ({ id: `cs_test_${accountId.replace(/[^a-z0-9]/gi, '')}`, accountId, credits: 100 + (i % 7) }));
  const deliveries = planDeliveries(sessions, created, context.webhookSecret);
  const monitor = () => createSliceMonitor(context.tally.pid, { url: context.databaseUrl, postmasterPid }, '');
  const db = new pg.Client({ connectionString: context.databaseUrl, application_name: BENCH_APPLICATION_NAME });
  await db.connect();
  try {
    const sending = monitor();
    const requests = deliveries.map((d) => ({ body: d.payload, headers: { 'content-type': 'application/json', 'stripe-signature': d.signature } }));
    const databaseBefore = await databaseWork(db);
    const startedAt = Date.now();
    const { statusCodes, lastAnswerAt } = await sending.watch(() => postEach(context.tally.url, PATH, requests, connections.webhooks));
    const sendMs = lastAnswerAt - startedAt;

    const granting = monitor();
    const grantedMs = await granting.watch(() => waitForGrants(db, accounts, startedAt, sendMs + GRANT_TIMEOUT_MS));
    // Duplicates may still be in flight after the last grant: let Tally finish them before checking.
    const events = await waitForEventsSettled(db, [...new Set(deliveries.map((d) => d.eventId))], 30_000);
    const database = await databaseWorkSince(db, databaseBefore);
    const check = await checkGrantedOnce(db, sessions);
    const count2xx = sumStatuses(statusCodes, /^2\d\d$/);
    return {
      sessions: count,
      deliveries: deliveries.length,
      duplicates: deliveries.filter((d) => d.duplicate).length,
      accepted: count2xx,
      nonAccepted: deliveries.length - count2xx,
      status5xx: sumStatuses(statusCodes, /^5\d\d$/),
      statusCodes,
      sendMs,
      grantedMs,
      grantedAfterLastMs: grantedMs === undefined ? undefined : Math.max(0, grantedMs - sendMs),
      database,
      sending: sending.observed(),
      granting: granting.observed(),
      events,
      check,
    };
  } finally {
    await db.end();
  }
}

/** One completed event per session; every tenth is delivered again, and every tenth session also pays "asynchronously". */
function planDeliveries(sessions: PaidSession[], created: number, secret: string): Delivery[] {
  const delivery = (event: Record<string, unknown>, duplicate: boolean): Delivery => {
    const payload = JSON.stringify(event);
    return { eventId: event.id as string, payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret }), duplicate };
  };
  const originals: Delivery[] = [];
  const extras: Delivery[] = [];
  sessions.forEach((session, i) => {
    const original = delivery(checkoutSessionEvent('checkout.session.completed', session, created), false);
    originals.push(original);
    if (i % 10 === 0) extras.push({ ...original, duplicate: true });
    if (i % 10 === 5) extras.push(delivery(checkoutSessionEvent('checkout.session.async_payment_succeeded', session, created + 1), true));
  });
  // Duplicates arrive a little later than their original, interleaved with new sessions.
  const planned: Delivery[] = [];
  originals.forEach((original, i) => {
    planned.push(original);
    if (i >= 40 && i % 5 === 0 && extras.length) planned.push(extras.shift()!);
  });
  return [...planned, ...extras];
}

/** The PostgreSQL server's postmaster when it runs on this machine (a backend's parent), to measure its CPU. */
async function localPostmasterPid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url, application_name: BENCH_APPLICATION_NAME });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = statFields(rows[0].pid);
    return backend.comm === 'postgres' && statFields(backend.ppid).comm === 'postgres' ? backend.ppid : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}

/** Transactions committed and WAL written in the database so far (the bench's own polling included, a few a second). */
async function databaseWork(db: pg.Client): Promise<{ commits: number; walBytes: string }> {
  const { rows } = await db.query<{ commits: string; lsn: string }>(
    'SELECT xact_commit AS commits, pg_current_wal_lsn()::text AS lsn FROM pg_stat_database WHERE datname = current_database()',
  );
  return { commits: Number(rows[0].commits), walBytes: rows[0].lsn };
}

/** Work since `before`; commit counts reach pg_stat_database up to a second late, so this waits that long first. */
async function databaseWorkSince(db: pg.Client, before: { commits: number; walBytes: string }): Promise<{ commits: number; walBytes: number }> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = await databaseWork(db);
  const { rows } = await db.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1, $2) AS bytes', [after.walBytes, before.walBytes]);
  return { commits: after.commits - before.commits, walBytes: Number(rows[0].bytes) };
}

function sumStatuses(statusCodes: Record<string, number>, pattern: RegExp): number {
  return Object.entries(statusCodes).reduce((sum, [code, n]) => (pattern.test(code) ? sum + n : sum), 0);
}

function describe({ cpu, pgActivity: pg }: Observed): string {
  return `CPU % tally ${cpu.tally}, postgres ${cpu.postgres}, bench ${cpu.bench}; Tally's PG backends on average: ${pg.onCpu} on CPU, ${pg.wal} WAL, ${pg.lock} lock, ${pg.otherWait} other wait, ${pg.waitingForClientInTransaction} idle in transaction`;
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : (ms / 1000).toFixed(2));
