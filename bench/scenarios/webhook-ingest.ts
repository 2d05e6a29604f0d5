import pg from 'pg';
import Stripe from 'stripe';
import { seedFundedAccounts } from '../seed.js';
import { sendConcurrently } from '../send-concurrently.js';
import { connections } from '../targets.js';
import { checkGrantedOnce } from './check-granted-once.js';
import { checkoutSessionEvent, type PaidSession } from './checkout-events.js';
import { formatRate, type BenchContext, type Scenario } from './scenario.js';
import { waitForEventsSettled, waitForGrants } from './wait-for-webhook-work.js';

const PATH = '/v1/webhooks/stripe';
/** How long granting may take after the last event was accepted before the run counts as failed. */
const GRANT_TIMEOUT_MS = 120_000;

interface Delivery {
  eventId: string;
  payload: string;
  /** A redelivery of an event already sent, or a second event about a session already paid. */
  duplicate: boolean;
}

/**
 * Signed Checkout events for distinct paid sessions, as fast as 32 connections send them: accepted
 * per second, time until every session is granted, and each granted exactly once although one event
 * in ten is delivered twice and one session in ten also gets `async_payment_succeeded`.
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
    const warmup = await ingest(context, `bench-${context.runId}-whw-`, Math.min(200, Math.round(sessions / 5)));
    context.log(`  webhooks warm-up: ${warmup.sessions} sessions granted in ${((warmup.grantedMs ?? NaN) / 1000).toFixed(1)} s`);
    const run = await ingest(context, `bench-${context.runId}-wh-`, sessions);

    const acceptedPerSecond = run.accepted / (run.sendMs / 1000);
    const grantedPerSecond = run.grantedMs ? run.sessions / (run.grantedMs / 1000) : 0;
    const exact = run.check.exact && run.grantedMs !== undefined && run.status5xx === 0;
    return {
      raw: { connections: connections.webhooks, warmup, run, acceptedPerSecond, grantedPerSecond },
      rows: [
        {
          scenario: `webhooks, ${connections.webhooks} conn`,
          tally: `${formatRate(acceptedPerSecond, 'events/s accepted')} (${run.deliveries} sent, ${run.nonAccepted} not 2xx)`,
          baseline: '—',
          target: 'all accepted',
          pass: run.nonAccepted === 0,
        },
        {
          scenario: 'webhooks granted',
          tally: run.grantedMs === undefined ? `not all granted after ${GRANT_TIMEOUT_MS / 1000} s` : `${run.sessions} sessions in ${(run.grantedMs / 1000).toFixed(2)} s (${formatRate(grantedPerSecond, '/s')})`,
          baseline: `${run.duplicates} duplicates sent`,
          target: 'each granted once',
          pass: exact,
        },
      ],
    };
  },
};

async function ingest(context: BenchContext, prefix: string, count: number) {
  const accounts = await seedFundedAccounts(context.databaseUrl, prefix, count, 0);
  const created = Math.floor(Date.now() / 1000);
  const sessions: PaidSession[] = accounts.map((accountId, i) => ({ id: `cs_test_${accountId.replace(/[^a-z0-9]/gi, '')}`, accountId, credits: 100 + (i % 7) }));
  const deliveries = planDeliveries(sessions, created);

  const statusCodes: Record<string, number> = {};
  let accepted = 0;
  const startedAt = Date.now();
  await sendConcurrently(deliveries, connections.webhooks, async (delivery) => {
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: delivery.payload, secret: context.webhookSecret });
    let status: string;
    try {
      const response = await fetch(`${context.tally.url}${PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: delivery.payload,
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      status = String(response.status);
    } catch (error) {
      status = `error: ${(error as Error).name}`;
    }
    statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    if (/^2\d\d$/.test(status)) accepted++;
  });
  const sendMs = Date.now() - startedAt;

  const db = new pg.Client({ connectionString: context.databaseUrl });
  await db.connect();
  try {
    const grantedMs = await waitForGrants(db, accounts, startedAt, sendMs + GRANT_TIMEOUT_MS);
    // Duplicates may still be in flight after the last grant: let Tally finish them before checking.
    const events = await waitForEventsSettled(db, [...new Set(deliveries.map((d) => d.eventId))], 30_000);
    const check = await checkGrantedOnce(db, sessions);
    const status5xx = Object.entries(statusCodes).filter(([code]) => code.startsWith('5')).reduce((sum, [, n]) => sum + n, 0);
    return {
      sessions: count,
      deliveries: deliveries.length,
      duplicates: deliveries.filter((d) => d.duplicate).length,
      accepted,
      nonAccepted: deliveries.length - accepted,
      status5xx,
      statusCodes,
      sendMs,
      grantedMs,
      events,
      check,
    };
  } finally {
    await db.end();
  }
}

/** One completed event per session; every tenth is delivered again, and every tenth session also pays "asynchronously". */
function planDeliveries(sessions: PaidSession[], created: number): Delivery[] {
  const originals: Delivery[] = [];
  const extras: Delivery[] = [];
  sessions.forEach((session, i) => {
    const event = checkoutSessionEvent('checkout.session.completed', session, created);
    const delivery = { eventId: event.id as string, payload: JSON.stringify(event), duplicate: false };
    originals.push(delivery);
    if (i % 10 === 0) extras.push({ ...delivery, duplicate: true });
    if (i % 10 === 5) {
      const second = checkoutSessionEvent('checkout.session.async_payment_succeeded', session, created + 1);
      extras.push({ eventId: second.id as string, payload: JSON.stringify(second), duplicate: true });
    }
  });
  // Duplicates arrive a little later than their original, interleaved with new sessions.
  const planned: Delivery[] = [];
  originals.forEach((delivery, i) => {
    planned.push(delivery);
    if (i >= 40 && i % 5 === 0 && extras.length) planned.push(extras.shift()!);
  });
  return [...planned, ...extras];
}
