import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from 'pg';
import type Stripe from 'stripe';
import { dueEvents, leaseEvents, markEventFailed, markEvents, storeEvents } from '../db/stripe-event-queries.js';
import { Batcher } from '../lib/batcher.js';
import type { EventHandlers } from './handlers/index.js';

const LEASE_SECONDS = 60;

/** Seconds before attempt n+1: 1, 2, 4, ... up to an hour. A failing event is retried for ever, never dropped. */
export function retryDelay(attempts: number): number {
  return Math.min(3600, 2 ** Math.max(0, attempts - 1));
}

/**
 * Stores and processes Stripe events: one handler per event type, shared by the webhook route (right
 * after the 2xx) and the retry loop. Events that arrive together are stored in one statement and
 * processed together. Handlers are idempotent, so a lease that lapses mid-way only means the work is
 * done again, never twice in effect.
 */
export class StripeEventProcessor {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly store: Batcher<Stripe.Event, boolean>;
  private readonly work: Batcher<string, undefined>;

  constructor(
    private readonly pool: Pool,
    private readonly handlers: EventHandlers,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.store = new Batcher(async (events) => {
      const stored = await storeEvents(pool, events);
      // A redelivery sent twice in one batch is stored (and answered as new) once.
      const seen = new Set<string>();
      return events.map((event) => {
        const isNew = stored.has(event.id) && !seen.has(event.id);
        seen.add(event.id);
        return isNew;
      });
    }, { maxBatch: 200, maxConcurrent: 2 });
    this.work = new Batcher(async (ids) => {
      await this.processMany([...new Set(ids)]);
      return ids.map(() => undefined);
    }, { maxBatch: 200, maxConcurrent: 1 });
  }

  /** Stores a verified event before Stripe is answered; false for a redelivery of a stored one. */
  async ingest(event: Stripe.Event): Promise<boolean> {
    const isNew = await this.store.submit(event);
    if (isNew) void this.work.submit(event.id).catch((error) => this.logger.error({ err: error }, 'stripe event processing failed'));
    return isNew;
  }

  async processMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const leased = await leaseEvents(this.pool, ids, LEASE_SECONDS);
    const processed: string[] = [];
    const ignored: string[] = [];
    await Promise.all(
      leased.map(async ({ payload: event, attempts }) => {
        const handler = this.handlers[event.type];
        if (!handler) return ignored.push(event.id);
        try {
          await handler(event);
          processed.push(event.id);
        } catch (error) {
          this.logger.warn({ err: error, eventId: event.id, type: event.type, attempts }, 'stripe event processing failed; will retry');
          await markEventFailed(this.pool, event.id, error instanceof Error ? error.message : String(error), retryDelay(attempts));
        }
      }),
    );
    await markEvents(this.pool, processed, 'processed');
    await markEvents(this.pool, ignored, 'ignored');
  }

  /** Picks up what is due: failures to retry, and events stored by a process that died before processing. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.processDue()
        .then(() => undefined)
        .finally(() => (this.sweeping = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async processDue(limit = 100): Promise<number> {
    try {
      const ids = await dueEvents(this.pool, limit);
      await this.processMany(ids);
      return ids.length;
    } catch (error) {
      this.logger.error({ err: error }, 'stripe event retry sweep failed');
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await this.store.flush();
    await this.work.flush();
  }
}
