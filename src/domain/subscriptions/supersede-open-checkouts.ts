import type Stripe from 'stripe';
import { ConflictFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe, retrieveFromStripe } from '../../stripe/call-stripe.js';
import { subscriptionExists, type Subscriptions } from './subscriptions.js';

export interface SupersedeDependencies {
  prisma: PrismaClient;
  stripe: Stripe;
  subscriptions: Subscriptions;
}

/**
 * One open subscription checkout per account, so two tabs or a double click cannot both be paid.
 * Called once the new session is recorded: every open subscription checkout of the account but the
 * newest (by `createdAt`, then id) is expired at Stripe and in Tally's records. Each create looks only
 * after its own record is written, so of two overlapping creates the one that looks last sees both
 * and keeps the newer: they converge whatever their order. Packs and bills are not touched.
 *
 * Throws `subscription_exists` (after expiring the newest too) when one of them was paid before it
 * could be expired: its subscription is fulfilled by the webhook or the success page, not here. Throws
 * `checkout_superseded` when `opened` lost to a newer one. A Stripe failure on the way surfaces as
 * callStripe's 502/503 and leaves `opened` recorded open, with older ones perhaps still open too: the
 * client retries, and the retry's new session supersedes them all.
 */
export async function supersedeOpenCheckouts(deps: SupersedeDependencies, opened: { id: string; accountId: string }): Promise<void> {
  const { prisma, stripe } = deps;
  const open = await prisma.checkout.findMany({
    where: { accountId: opened.accountId, kind: 'subscription', status: 'open' },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    select: { id: true },
  });
  const newest = open.pop();
  const paid: string[] = [];
  for (const older of open) {
    if ((await expireCheckout(prisma, stripe, older.id)) === 'complete') paid.push(older.id);
  }
  if (paid.length > 0) {
    if (newest) await expireCheckout(prisma, stripe, newest.id);
    throw subscriptionExists(opened.accountId, { checkoutSessionId: paid[0]! });
  }
  if (newest && newest.id !== opened.id) throw superseded(opened, newest.id);
  // An older checkout paid and recorded by its webhook since the first check is not listed as open; its live subscription is.
  await deps.subscriptions.assertNoLiveSubscription(opened.accountId).catch(async (error) => {
    if (newest) await expireCheckout(prisma, stripe, newest.id);
    throw error;
  });
}

/** Expires the session at Stripe, then its record; `complete` when Stripe says it was paid first. */
async function expireCheckout(prisma: PrismaClient, stripe: Stripe, id: string): Promise<'expired' | 'complete'> {
  const status = await callStripe('expire the checkout session', () => stripe.checkout.sessions.expire(id)).then(
    () => 'expired' as const,
    async (error) => {
      // Stripe expires only open sessions: this one was paid, or expired, since Tally last heard of it.
      if (error?.code !== 'stripe_invalid_request') throw error;
      // Unknown to this Stripe account (made under another key): it cannot be paid, and must not block the account.
      const session = await retrieveFromStripe('retrieve the checkout session', () => stripe.checkout.sessions.retrieve(id));
      if (session?.status === 'open') throw error;
      return session?.status === 'complete' ? ('complete' as const) : ('expired' as const);
    },
  );
  // A paid one is left to the paths that fulfil it; they record it complete.
  if (status === 'expired') await prisma.checkout.updateMany({ where: { id, status: 'open' }, data: { status: 'expired' } });
  return status;
}

function superseded(opened: { id: string; accountId: string }, newer: string) {
  return new ConflictFailure('checkout_superseded', `A newer subscription checkout of account ${opened.accountId} replaced this one`, {
    accountId: opened.accountId,
    checkoutSessionId: opened.id,
    supersededBy: newer,
  });
}
