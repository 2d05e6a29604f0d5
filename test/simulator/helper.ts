import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { Test } from 'tap';
import { createStripeSimulator, type SimulatorOptions, type StripeSimulator } from '../../src/simulator/index.js';

export const WEBHOOK_SECRET = 'whsec_test_simulator_secret';

export interface Harness {
  simulator: StripeSimulator;
  url: string;
  stripe: Stripe;
  clientFor(options?: { timeout?: number; key?: string }): Stripe;
}

/** A listening simulator and a real Stripe client pointed at it; both go away with the test. */
export async function startSimulator(t: Test, options: Partial<SimulatorOptions> = {}): Promise<Harness> {
  const simulator = createStripeSimulator({ webhookSecret: WEBHOOK_SECRET, retrySchedule: [20, 40], ...options });
  const url = await simulator.listen(0);
  t.teardown(() => simulator.close());
  const port = Number(new URL(url).port);
  const clientFor = ({ timeout, key }: { timeout?: number; key?: string } = {}) =>
    new Stripe(key ?? 'sk_test_123', {
      host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, ...(timeout ? { timeout } : {}),
    });
  return { simulator, url, stripe: clientFor(), clientFor };
}

export interface ReceivedEvent {
  event: Stripe.Event;
  raw: string;
  signature: string;
}

export interface Receiver {
  url: string;
  /** Every request that passed signature verification, including ones answered with an error. */
  attempts: ReceivedEvent[];
  /** Events acknowledged with 2xx. */
  delivered: ReceivedEvent[];
  waitFor(predicate: (received: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<void>;
}

/**
 * A tiny webhook endpoint that verifies signatures with the real SDK. `failures(event, attempt)`
 * returns a status to answer with instead of 200.
 */
export async function startReceiver(t: Test, failures: (event: Stripe.Event, attempt: number) => number | undefined = () => undefined): Promise<Receiver> {
  const attempts: ReceivedEvent[] = [];
  const delivered: ReceivedEvent[] = [];
  const verifier = new Stripe('sk_test_verifier');
  const server = createServer(async (request, response) => {
    const raw = await readBody(request);
    const signature = String(request.headers['stripe-signature'] ?? '');
    let event: Stripe.Event;
    try {
      event = verifier.webhooks.constructEvent(raw, signature, WEBHOOK_SECRET);
    } catch {
      response.writeHead(400).end('bad signature');
      return;
    }
    const received = { event, raw, signature };
    attempts.push(received);
    const status = failures(event, attempts.filter((a) => a.event.id === event.id).length);
    if (status) {
      response.writeHead(status).end('simulated receiver failure');
      return;
    }
    delivered.push(received);
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    attempts,
    delivered,
    waitFor: (predicate, timeoutMs = 5000) => waitUntil(() => predicate(delivered), timeoutMs),
  };
}

export async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Resolves once every event so far was acknowledged; deliveries run concurrently, so wait before counting. */
export function allDelivered(simulator: StripeSimulator, timeoutMs = 5000): Promise<void> {
  return waitUntil(() => simulator.pendingDeliveries() === 0, timeoutMs);
}

/** A product with a monthly price, the usual starting point. */
export async function monthlyPrice(stripe: Stripe, unitAmount = 1500, interval: 'day' | 'week' | 'month' | 'year' = 'month') {
  const product = await stripe.products.create({ name: `Plan ${unitAmount}` });
  return stripe.prices.create({ product: product.id, unit_amount: unitAmount, currency: 'usd', recurring: { interval } });
}
