import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from 'pg';
import type Stripe from 'stripe';
import { dueEvents, leaseEvent, markEvent, markEventFailed } from '../db/stripe-event-queries.js';
import type { EventHandlers } from './handlers/index.js';

const LEASE_SECONDS = 60;

/** Seconds before attempt n+1: 1, 2, 4, ... up to an hour. A failing event is retried for ever, never dropped. */
export function retryDelay(attempts: number): number {
  return Math.min(3600, 2 ** Math.max(0, attempts - 1));
}

/**
 * Processes stored Stripe events: one handler per event type, shared by the webhook route (right
 * after the 2xx) and the retry loop. Handlers are idempotent, so a lease that lapses mid-way only
 * means the work is done again, never twice in effect.
 */
export class StripeEventProcessor {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly handlers: EventHandlers,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Starts processing in the background; the caller does not wait. */
  kick(id: string): void {
    const work = this.process(id).finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  async process(id: string): Promise<void> {
    let event: Stripe.Event | undefined;
    try {
      event = await leaseEvent(this.pool, id, LEASE_SECONDS);
      if (!event) return;
      const handler = this.handlers[event.type];
      if (!handler) {
        await markEvent(this.pool, id, 'ignored');
        return;
      }
      await handler(event);
      await markEvent(this.pool, id, 'processed');
    } catch (error) {
      const attempts = await this.attempts(id);
      this.logger.warn({ err: error, eventId: id, type: event?.type, attempts }, 'stripe event processing failed; will retry');
      await markEventFailed(this.pool, id, error instanceof Error ? error.message : String(error), retryDelay(attempts)).catch(() => {});
    }
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
      await Promise.all(ids.map((id) => this.process(id)));
      return ids.length;
    } catch (error) {
      this.logger.error({ err: error }, 'stripe event retry sweep failed');
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await Promise.all(this.inFlight);
  }

  private async attempts(id: string): Promise<number> {
    const { rows } = await this.pool.query<{ attempts: number }>('SELECT attempts FROM stripe_events WHERE id = $1', [id]).catch(() => ({ rows: [] }));
    return rows[0]?.attempts ?? 1;
  }
}
