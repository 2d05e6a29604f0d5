import type { Pool } from 'pg';
import type Stripe from 'stripe';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { PrismaClient } from '../../db/client.js';
import { takeLiveSubscriptionsDue, type SubscriptionDue } from '../../db/subscription-queries.js';
import { callStripe, retrieveFromStripe } from '../../stripe/call-stripe.js';
import { endsThePass, oneAtATime, type ReconcileOptions } from '../../stripe/reconciler.js';
import type { SubscriptionStatus } from './read-subscription-state.js';
import type { SubscriptionEvents } from './subscription-events.js';
import { lastGrantedPeriodEnd } from './top-up-period.js';

export interface RenewalReconcilerDependencies {
  pool: Pool;
  prisma: PrismaClient;
  stripe: Stripe;
  subscriptionEvents: SubscriptionEvents;
  logger: Logger;
}

/**
 * How long after a period starts Stripe may take to collect its renewal: it finalizes the invoice
 * about an hour after creating it, then charges. A period without credits is not asked about sooner.
 */
export const RENEWAL_COLLECTION_SECONDS = 3600;

export interface ReconciledRenewal {
  /** Stripe's subscription id. */
  id: string;
  /** What Tally records after the pass. */
  status: SubscriptionStatus;
  /** The paid invoices this pass granted, oldest first; empty when each was granted already. */
  grantedInvoices: string[];
  /** `unknown`: Stripe does not know the subscription (left as it is); `failed`: Stripe or the database failed. */
  problem?: 'unknown' | 'failed';
}

/** More paid invoices than this since the last granted period would be a decade of monthly renewals. */
const MAX_INVOICES = 1000;

/**
 * One pass: asks Stripe about the live subscriptions whose recorded period ended `olderThanSeconds`
 * ago (Tally has not heard of their renewal), and the active ones whose recorded period still has no
 * credits `olderThanSeconds` plus RENEWAL_COLLECTION_SECONDS after it started (Tally heard of the new
 * period, not of its payment), least recently checked first; records what Stripe says through the fetched
 * path and hands each paid invoice Tally may have missed to `SubscriptionEvents.onInvoicePaid`, the
 * very path of `invoice.paid`. So a renewal whose webhook never arrived is still granted, and once:
 * a period's credits are keyed by the subscription and the period, whether this pass, a late webhook
 * or a redelivery asks first, and however many processes run passes at once.
 */
export async function reconcileRenewals(deps: RenewalReconcilerDependencies, { olderThanSeconds, batch, stopping }: ReconcileOptions): Promise<ReconciledRenewal[]> {
  const due = await takeLiveSubscriptionsDue(deps.pool, { endedSecondsAgo: olderThanSeconds, uncreditedStartedSecondsAgo: olderThanSeconds + RENEWAL_COLLECTION_SECONDS }, batch);
  const results = await oneAtATime(due, stopping, (subscription) => reconcileRenewal(deps, subscription));
  const granted = results.reduce((sum, result) => sum + result.grantedInvoices.length, 0);
  if (granted) deps.logger.info({ checked: results.length, grantedInvoices: granted }, 'granted renewals whose invoice.paid Tally had not processed');
  return results;
}

async function reconcileRenewal(deps: RenewalReconcilerDependencies, due: SubscriptionDue): Promise<ReconciledRenewal> {
  const id = due.stripeSubscriptionId;
  try {
    const subscription = await retrieveWithLatestInvoice(deps.stripe, id);
    if (!subscription) {
      // Made under another key or account, or deleted: nothing to grant, and nothing Tally may cancel.
      deps.logger.warn({ stripeSubscriptionId: id }, 'Stripe does not know this live subscription; left it as it is');
      return { id, status: due.status, grantedInvoices: [], problem: 'unknown' };
    }
    // Fetched now, so at least as new as the state held: dated like it, so a later event still applies.
    const recorded = await deps.subscriptionEvents.apply(subscription, due.stateAt);
    const grantedInvoices: string[] = [];
    for (const invoice of await paidInvoicesToGrant(deps, subscription)) {
      if ((await deps.subscriptionEvents.onInvoicePaid(invoice, due.stateAt)).granted) grantedInvoices.push(invoice.id);
    }
    return { id, status: (recorded?.row.status ?? due.status) as SubscriptionStatus, grantedInvoices };
  } catch (error) {
    if (endsThePass(error)) throw error;
    deps.logger.warn({ err: error, stripeSubscriptionId: id }, "could not reconcile a subscription's renewals; a later pass asks again");
    return { id, status: due.status, grantedInvoices: [], problem: 'failed' };
  }
}

/** Stripe's copy of the subscription with its latest invoice; undefined when Stripe does not know it. */
async function retrieveWithLatestInvoice(stripe: Stripe, id: string): Promise<Stripe.Subscription | undefined> {
  return retrieveFromStripe('retrieve the subscription', () => stripe.subscriptions.retrieve(id, { expand: ['latest_invoice'] }));
}

/**
 * The paid invoices of the periods Tally may have missed, oldest first: every one created since the
 * end of the last period it granted (a renewal's invoice is made as its period starts), or all of them
 * when none was granted, and the latest invoice when it is paid. More than one is missed when Tally
 * heard nothing for longer than a period. A renewal paid after its period was recorded (Stripe
 * collects about an hour after the period starts, and retries a failed payment for days) is found
 * here once the period, still without credits, is due.
 */
async function paidInvoicesToGrant({ prisma, stripe }: RenewalReconcilerDependencies, subscription: Stripe.Subscription): Promise<Stripe.Invoice[]> {
  const since = await lastGrantedPeriodEnd(prisma, subscription.id);
  const listed = await callStripe("list the subscription's paid invoices", () =>
    stripe.invoices
      .list({ subscription: subscription.id, status: 'paid', limit: 100, ...(since === undefined ? {} : { created: { gte: since } }) })
      .autoPagingToArray({ limit: MAX_INVOICES }),
  );
  const invoices = new Map(listed.map((invoice) => [invoice.id, invoice]));
  const latest = subscription.latest_invoice;
  if (latest && typeof latest !== 'string' && latest.status === 'paid') invoices.set(latest.id, latest);
  return [...invoices.values()].sort((a, b) => a.created - b.created);
}
