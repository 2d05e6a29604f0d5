import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from 'pg';
import type Stripe from 'stripe';
import { dueEvents, leaseEvents, markEventFailed, markEvents, releaseEvents, storeEvents } from '../db/stripe-event-queries.js';
import { unlessDatabaseUnreachable } from '../db/database-unreachable.js';
import { UnusableStripeObjectFailure } from '../errors.js';
import { BackgroundFailures } from '../lib/background-failures.js';
import { Batcher } from '../lib/batcher.js';
import { startPeriodic } from '../lib/periodic.js';
import type { EventHandlers } from './handlers/index.js';
import { storableEvent } from './storable-event.js';

/** How long an attempt may take before another process may take the event; after a crash, how long its events wait. */
const LEASE_SECONDS = 60;

/** Seconds before attempt n+1: 1, 2, 4, ... up to an hour. A failing event is retried for ever, never dropped. */
export function retryDelay(attempts: number): number {
  return Math.min(3600, 2 ** Math.max(0, attempts - 1));
}

type VerifiedEvent = { event: Stripe.Event; payload: string };
type LeasedEvent = { payload: Stripe.Event; attempts: number };

/**
 * Stores and processes Stripe events: one handler per event type, shared by the webhook route (right
 * after the 2xx) and the retry loop. Events that arrive together are stored in one statement, under a
 * lease taken by that same statement, and processed together. Handlers are idempotent, so a lease
 * that lapses mid-way only means the work is done again, never twice in effect.
 */
export class StripeEventProcessor {
  private stopSweep: (() => Promise<void>) | undefined;
  /** Set by stop: events not yet begun are left to the retry sweep of any process, their leases given back. */
  private stopping = false;
  private readonly store: Batcher<VerifiedEvent, boolean>;
  private readonly work: Batcher<Stripe.Event, undefined>;
  /** Processing right after the 2xx: what fails is left to the retry sweep, and said as a background task's failure. */
  private readonly workFailures: BackgroundFailures;

  constructor(
    private readonly pool: Pool,
    private readonly handlers: EventHandlers,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.store = new Batcher(async (verified) => {
      const stored = await storeEvents(pool, verified.map((v) => v.payload), LEASE_SECONDS);
      // A redelivery sent twice in one batch is stored (and answered as new) once.
      const seen = new Set<string>();
      return verified.map(({ event }) => {
        const isNew = stored.has(event.id) && !seen.has(event.id);
        seen.add(event.id);
        return isNew;
      });
    }, { maxBatch: 200, maxConcurrent: 1, runAlone: unlessDatabaseUnreachable });
    // Stored events are already leased to this process: no second statement to take the lease.
    this.work = new Batcher(async (events) => {
      if (this.stopping) await releaseEvents(pool, events.map((event) => event.id));
      else await this.processLeased(events.map((payload) => ({ payload, attempts: 1 })));
      return events.map(() => undefined);
    }, { maxBatch: 500, maxConcurrent: 1, runAlone: unlessDatabaseUnreachable });
    this.workFailures = new BackgroundFailures(logger, 'stripe event processing');
  }

  /**
   * Stores a verified event before Stripe is answered; false for a redelivery of a stored one.
   * `text` is the verified text the event was parsed from: stored as it came, not serialised again,
   * unless it carries characters PostgreSQL cannot keep (storableEvent).
   */
  async ingest(verified: Stripe.Event, text: string): Promise<boolean> {
    const { event, payload } = storableEvent(verified, text);
    const isNew = await this.store.submit({ event, payload });
    if (isNew) void this.work.submit(event).then(this.workFailures.succeeded, this.workFailures.failed);
    return isNew;
  }

  /**
   * Stores an event read from Stripe's API (its webhook never came) and processes it before
   * returning; false when it was stored already. A handler that fails leaves it to the retry loop,
   * as for a webhook.
   */
  async replay(listed: Stripe.Event): Promise<boolean> {
    const { event, payload } = storableEvent(listed, JSON.stringify(listed));
    const isNew = await this.store.submit({ event, payload });
    if (isNew) await this.work.submit(event);
    return isNew;
  }

  /** Leases the named events that still need processing (not done, not leased elsewhere), and processes them. */
  async processMany(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.processLeased(await leaseEvents(this.pool, ids, LEASE_SECONDS));
  }

  private async processLeased(leased: LeasedEvent[]): Promise<void> {
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
          if (error instanceof UnusableStripeObjectFailure) {
            // No retry could ever succeed: done, with nothing written, rather than failing (and counted) for ever.
            this.logger.warn({ eventId: event.id, type: event.type, reason: error.message, ...error.details }, 'stripe event names an object Tally cannot use; processed as nothing to do');
            return processed.push(event.id);
          }
          this.logger.warn({ err: error, eventId: event.id, type: event.type, attempts }, 'stripe event processing failed; will retry');
          await markEventFailed(this.pool, event.id, error instanceof Error ? error.message : String(error), retryDelay(attempts));
        }
      }),
    );
    await markEvents(this.pool, processed, ignored);
  }

  /** Picks up what is due: failures to retry, and events whose lease lapsed (their process died before finishing them). */
  start(intervalMs: number): void {
    this.stopSweep = startPeriodic(() => this.processDue(), intervalMs, new BackgroundFailures(this.logger, 'stripe event retry sweep'));
  }

  /** Processes up to `limit` events that are due; how many there were. */
  async processDue(limit = 100): Promise<number> {
    const ids = await dueEvents(this.pool, limit);
    await this.processMany(ids);
    return ids.length;
  }

  /**
   * Waits for the retry sweep's pass and the events being stored (a webhook's 2xx waits on them) and
   * processed; events stored but not yet begun are not begun now (each batch may call Stripe, and
   * under a burst many would queue past the shutdown's grace): their leases are given back, so that
   * another process's retry sweep takes them at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.stopSweep?.();
    await this.store.flush();
    await this.work.flush();
  }
}
