import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Pool } from 'pg';
import type Stripe from 'stripe';
import { advanceCursor, cursorWindow } from '../db/reconciler-cursors.js';
import { storedEventIds } from '../db/stripe-event-queries.js';
import { callStripe } from './call-stripe.js';
import type { StripeEventProcessor } from './event-processor.js';
import type { ReconcileOptions } from './reconciler.js';

/**
 * The events whose loss no other pass makes up for: what they tell comes long after the payment
 * (a dispute opens or closes, a refund fails), so asking Stripe about what was made since a time does not find
 * it. Stripe's own list of the events it sent (kept 30 days) does.
 */
export const CAUGHT_UP_EVENT_TYPES = ['charge.dispute.funds_withdrawn', 'charge.dispute.funds_reinstated', 'charge.dispute.closed', 'refund.failed', 'refund.updated'];

const CURSOR = 'events';

export interface EventReconcilerDependencies {
  pool: Pool;
  stripe: Stripe;
  events: StripeEventProcessor;
  logger: Logger;
}

/**
 * One pass: the events of CAUGHT_UP_EVENT_TYPES that Stripe sent since the last pass (the first looks
 * back three days), older than `olderThanSeconds` (the webhook comes first), oldest first; those Tally
 * never stored, at most `batch`, are stored and processed as if their webhook had come. A cursor in
 * the database keeps the place, moved only to the `created` of an event read; that second stays in the
 * next window, and an event met twice is found stored. A Stripe failure fails the pass before the cursor moves.
 */
export async function reconcileEvents(deps: EventReconcilerDependencies, { olderThanSeconds, batch, stopping }: ReconcileOptions): Promise<{ replayed: string[] }> {
  const window = await cursorWindow(deps.pool, CURSOR, olderThanSeconds);
  if (!window) return { replayed: [] };
  const sent: Stripe.Event[] = [];
  await callStripe('list the events Stripe sent', () =>
    deps.stripe.events.list({ types: CAUGHT_UP_EVENT_TYPES, created: { gte: window.from, lte: window.until }, limit: 100 }).autoPagingEach((event) => {
      sent.push(event);
    }),
  );
  sent.reverse(); // Stripe lists the newest first
  const stored = await storedEventIds(deps.pool, sent.map((event) => event.id));
  const replayed: string[] = [];
  // The newest event read, not `window.until`: Tally's clock, ahead of Stripe's or jumped, would
  // carry the cursor past events not sent yet.
  let position = sent.at(-1)?.created ?? window.from;
  for (const event of sent) {
    if (stored.has(event.id)) continue;
    if (replayed.length === batch || stopping?.aborted) {
      position = event.created;
      break;
    }
    if (!(await deps.events.replay(event))) continue; // stored meanwhile: its webhook came after all
    replayed.push(event.id);
    deps.logger.warn({ eventId: event.id, type: event.type }, 'caught up a Stripe event whose webhook never came');
  }
  await advanceCursor(deps.pool, CURSOR, position);
  return { replayed };
}
