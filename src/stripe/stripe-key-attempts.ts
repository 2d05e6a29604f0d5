import Stripe from 'stripe';
import type { PrismaClient } from '../db/client.js';

/**
 * Which attempt of a Stripe create is sent now, by the key of its first attempt. Stripe saves a 5xx
 * under its idempotency key and replays it to every retry with that key for 24 h ("including 500
 * errors"), so a create Tally keys by what it is (a client's Idempotency-Key, an account's customer)
 * would fail the same way for a day. After a 5xx the next attempt therefore sends a key of its own.
 * Only after a 5xx: after a timeout or a lost connection Stripe may have made the object, and the same
 * key is the one way to get it back without making a second. A 5xx may also have made it (Stripe says
 * its outcome is unknown), but that object can never be returned under the old key: what may be left
 * is an unused customer, product or price, or a checkout session whose url no one was given.
 */
export class StripeKeyAttempts {
  constructor(private readonly prisma: PrismaClient) {}

  /** The attempt to send now for the create whose first key is `firstKey` (0: the first). */
  async current(firstKey: string): Promise<number> {
    const row = await this.prisma.stripeKeyAttempt.findUnique({ where: { key: firstKey } });
    return row?.attempt ?? 0;
  }

  /**
   * After `attempt` was answered with a 5xx: the next one sends a new key. Only from the attempt that
   * failed, so that two retries that both met the saved 5xx move on once, and then send the same key
   * (Stripe makes one object for both).
   */
  async next(firstKey: string, attempt: number): Promise<void> {
    if (attempt === 0) {
      await this.prisma.stripeKeyAttempt.createMany({ data: [{ key: firstKey, attempt: 1 }], skipDuplicates: true });
      return;
    }
    await this.prisma.stripeKeyAttempt.updateMany({ where: { key: firstKey, attempt }, data: { attempt: attempt + 1, updatedAt: new Date() } });
  }
}

/** Stripe answered (a status, so the request reached it) with a server error, which it saves under the key. */
export function isSavedServerError(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeError && typeof error.statusCode === 'number' && error.statusCode >= 500;
}
