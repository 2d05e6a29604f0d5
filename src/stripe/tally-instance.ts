import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { isSavedServerError, type StripeKeyAttempts } from './stripe-key-attempts.js';

/** Stripe's longest idempotency key. */
const MAX_STRIPE_KEY = 255;

/**
 * Which Tally made an object in Stripe. Two Tallys may share one Stripe account (a staging beside a
 * production, two products): each then receives the other's events, and Stripe's idempotency keys
 * are the account's, not each Tally's. So a Tally stamps its id (`tally_instance`) into the metadata
 * of the sessions and subscriptions it makes and into every idempotency key it sends, and leaves
 * alone what another Tally stamped.
 */
export class TallyInstance {
  /** Objects of other Tallys met in Stripe's events and left alone, so far: `tally_foreign_stripe_objects_total`. */
  private foreign = 0;

  constructor(
    readonly id: string,
    private readonly log?: FastifyBaseLogger,
    private readonly attempts?: StripeKeyAttempts,
  ) {}

  get foreignObjectsSeen(): number {
    return this.foreign;
  }

  /** Notes (log and metric) an object another Tally on this Stripe account made, which this one leaves alone. */
  leaveAlone(object: { id: string; object: string; metadata: Record<string, string> | null }): void {
    this.foreign++;
    this.log?.info({ stripeObject: object.id, madeBy: object.metadata?.tally_instance }, `a Stripe ${object.object} made by another Tally on this Stripe account: left alone`);
  }

  /** The metadata that marks an object as this Tally's. */
  get stamp(): { tally_instance: string } {
    return { tally_instance: this.id };
  }

  /**
   * Stamped by another Tally. An unstamped object is taken as this Tally's, as before stamping: what
   * a Tally made before it stamped (an open checkout, a subscription) stays its own.
   */
  madeElsewhere(metadata: Record<string, string> | null | undefined): boolean {
    const stamp = metadata?.tally_instance;
    return stamp !== undefined && stamp !== '' && stamp !== this.id;
  }

  /**
   * A Stripe idempotency key of this Tally's: `what` (readable when it fits, hashed when it would not).
   * With `sent`, the key also names the parameters sent: Stripe refuses a key used again with other
   * parameters (400 idempotency_error), and a create that failed gives the client's key back to be
   * sent again corrected, so a corrected create needs a key of its own; the same create, the same key.
   */
  stripeKey(what: string, sent?: unknown): string {
    const named = sent === undefined ? what : `${what}-${createHash('sha256').update(JSON.stringify(sent)).digest('hex').slice(0, 16)}`;
    const key = `tally-${this.id}-${named}`;
    return key.length <= MAX_STRIPE_KEY ? key : `tally-${this.id}-${createHash('sha256').update(named).digest('base64url')}`;
  }
  /**
   * Sends a create to Stripe (`send`, given the idempotency key) under this Tally's key for `what` and
   * `sent`; once Stripe has answered that key with a 5xx, which it replays to every retry for 24 h,
   * under the next attempt's key (StripeKeyAttempts).
   */
  async keyed<T>(what: string, sent: unknown, send: (idempotencyKey: string) => Promise<T>): Promise<T> {
    const firstKey = this.stripeKey(what, sent);
    const attempt = (await this.attempts?.current(firstKey)) ?? 0;
    try {
      return await send(attempt === 0 ? firstKey : this.stripeKey(`${what}-attempt-${attempt}`, sent));
    } catch (error) {
      // Not recorded (the database failing too): the next retry meets the saved 5xx again, and tries this again.
      if (isSavedServerError(error)) await this.attempts?.next(firstKey, attempt).catch(() => undefined);
      throw error;
    }
  }

}
