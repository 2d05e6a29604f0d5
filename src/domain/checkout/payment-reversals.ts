import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { Ledger } from '../ledger/ledger.js';
import type { SubscriptionEvents } from '../subscriptions/subscription-events.js';
import type { Checkouts } from './checkouts.js';

/** Refunds whose money is on its way back, or back, to the customer. */
const RETURNING = new Set(['succeeded', 'pending', 'requires_action']);

/** What a payment bought: the grants it made, and what was paid for them. */
interface PaidCredits {
  accountId: string;
  /** What Stripe calls the purchase: in the log and the adjustment entries' metadata. */
  purchase: { stripeCheckoutSessionId: string } | { stripeInvoiceId: string };
  /** What was paid, in minor units: credits are taken back in proportion to what returns. */
  amount: number;
  grants: Array<{ grantId: string; credits: number }>;
}

/**
 * Takes back the credits a payment bought when the money went back to the customer: a refund (in the
 * Dashboard or through the API) or a dispute (when the bank withdraws the money). The payment is a
 * pack's or a bill's checkout, or a subscription invoice (its period's credits). Each refund and each
 * dispute takes back its share of each grant the payment made, once for good (a revocation keyed by
 * the refund or dispute and the grant), from what is left of the grant: credits already spent stay
 * spent (no balance goes below zero), those held are owed and taken as they come back, and the
 * ledger's `adjustment` entry says how many were asked for, taken and owed. When the money comes back to the merchant (a refund that failed, a dispute
 * won), what was taken is given back, once (a restoration of that revocation).
 */
export class PaymentReversals {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly ledger: Ledger,
    private readonly checkouts: Checkouts,
    private readonly subscriptionEvents: SubscriptionEvents,
    private readonly logger: Logger,
  ) {}

  /** `charge.refunded`: every refund of the charge so far, each taking back its share once. */
  async onChargeRefunded(charge: Stripe.Charge): Promise<void> {
    const paid = await this.creditsPaidBy(charge.payment_intent);
    if (!paid) return;
    // Each refund's share is counted on top of those before it.
    const refunds = (await refundsOldestFirst(this.stripe, { charge: charge.id }, 'list the refunds of a charge')).filter((refund) => RETURNING.has(refund.status ?? ''));
    for (const { grantId, credits } of paid.grants) {
      const shares = creditShares(credits, paid.amount, refunds.map((refund) => refund.amount));
      for (const [i, refund] of refunds.entries()) {
        await this.revoke(paid, grantId, shares[i], refundRevocationKey(refund.id, grantId), 'payment refunded', { stripeRefundId: refund.id, stripeChargeId: charge.id });
      }
    }
  }

  /**
   * `refund.failed` and `refund.updated`: a refund that failed or was canceled returned no money, so
   * what it took back is given back, to the same grants, once. When this comes before the refund's
   * revocation (a late `charge.refunded`), the restoration is written first and the revocation then
   * takes nothing.
   */
  async onRefundChanged(refund: Stripe.Refund): Promise<void> {
    if (RETURNING.has(refund.status ?? '')) return;
    const paid = await this.creditsPaidBy(refund.payment_intent);
    if (!paid) return;
    const metadata = { stripeRefundId: refund.id, ...(refund.failure_reason ? { failureReason: refund.failure_reason } : {}) };
    for (const { grantId } of paid.grants) {
      await this.giveBack(paid, grantId, refundRevocationKey(refund.id, grantId), `refund ${refund.status}`, metadata);
    }
  }

  /**
   * A dispute moves money twice. When the bank withdraws the disputed amount from the merchant
   * (`charge.dispute.funds_withdrawn`, as soon as a chargeback opens), the disputed share of the
   * credits is taken back, so the customer cannot spend what was paid back meanwhile; when it
   * reinstates the money (`charge.dispute.funds_reinstated`, the dispute won), they are given back.
   * `charge.dispute.closed` does the same, lost or won, for an endpoint that missed those. An inquiry,
   * whose money never moves, changes nothing.
   */
  async onDisputeFundsWithdrawn(dispute: Stripe.Dispute): Promise<void> {
    const paid = await this.creditsPaidBy(dispute.payment_intent);
    if (!paid) return;
    const charge = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge.id;
    for (const { grantId, credits } of paid.grants) {
      const [share] = creditShares(credits, paid.amount, [dispute.amount]);
      await this.revoke(paid, grantId, share, disputeRevocationKey(dispute.id, grantId), 'payment disputed: the money went back to the customer', { stripeDisputeId: dispute.id, stripeChargeId: charge });
    }
  }

  async onDisputeFundsReinstated(dispute: Stripe.Dispute): Promise<void> {
    const paid = await this.creditsPaidBy(dispute.payment_intent);
    if (!paid) return;
    for (const { grantId } of paid.grants) {
      await this.giveBack(paid, grantId, disputeRevocationKey(dispute.id, grantId), 'dispute won: the money came back', { stripeDisputeId: dispute.id });
    }
  }

  /** `charge.dispute.closed`: lost, the money stays withdrawn; won, it came back. */
  async onDisputeClosed(dispute: Stripe.Dispute): Promise<void> {
    if (dispute.status === 'lost') await this.onDisputeFundsWithdrawn(dispute);
    else if (dispute.status === 'won') await this.onDisputeFundsReinstated(dispute);
  }

  /** Gives back what the revocation of `revocationKey` took, once (written first if the revocation comes later). */
  private async giveBack(paid: PaidCredits, grantId: string, revocationKey: string, reason: string, metadata: Record<string, unknown>): Promise<void> {
    const { value } = await this.ledger.restore({ accountId: paid.accountId, grantId, revocationKey, reason, metadata: { ...metadata, ...paid.purchase } });
    if (value.entryId !== null) this.logger.info({ accountId: paid.accountId, ...paid.purchase, revocationKey, restored: value.restored }, `gave back credits: ${reason}`);
  }

  private async revoke(paid: PaidCredits, grantId: string, credits: number, revocationKey: string, reason: string, metadata: Record<string, unknown>): Promise<void> {
    if (credits === 0) return;
    const { value } = await this.ledger.revoke({ accountId: paid.accountId, grantId, amount: credits, revocationKey, reason, metadata: { ...metadata, ...paid.purchase } });
    if (value.entryId === null) return;
    const log = { accountId: paid.accountId, ...paid.purchase, revocationKey, requested: credits, revoked: value.revoked, owed: value.owed };
    if (value.revoked + value.owed < credits) this.logger.warn(log, 'credits of a returned payment were already spent or expired; took back what was left');
    else if (value.owed > 0) this.logger.info(log, 'took back the credits of a returned payment; those held are taken as they come back');
    else this.logger.info(log, 'took back the credits of a returned payment');
  }

  /** What a payment intent bought, if it is a checkout or a subscription invoice of Tally's that granted credits. */
  private async creditsPaidBy(paymentIntent: string | Stripe.PaymentIntent | null): Promise<PaidCredits | undefined> {
    const id = typeof paymentIntent === 'string' ? paymentIntent : paymentIntent?.id;
    if (!id) return undefined;
    const paid = (await this.checkoutPaidBy(id)) ?? (await this.invoicePaidBy(id));
    if (!paid?.grants.length) {
      this.logger.info({ paymentIntent: id }, 'a returned payment that granted no credits here: nothing to take back');
      return undefined;
    }
    return paid;
  }

  /**
   * The checkout a payment intent paid. One not yet fulfilled (the refund's event came first) is
   * fulfilled now, through the same once-only path, so that its credits can be taken back; so is one
   * Tally never recorded (it stopped, or its database failed, between Stripe's answer and its own
   * write; a database restored from a backup), else the refund would take nothing and the late
   * `checkout.session.completed` grant credits that stay. A session that is not Tally's (another
   * Tally's, the Dashboard's) is fulfilled into nothing: no row, and nothing to take back.
   */
  private async checkoutPaidBy(paymentIntent: string): Promise<PaidCredits | undefined> {
    const sessions = await callStripe('find the checkout session of a payment', () => this.stripe.checkout.sessions.list({ payment_intent: paymentIntent, limit: 1 }));
    const session = sessions.data[0];
    if (!session) return undefined;
    const find = () => this.prisma.checkout.findUnique({ where: { id: session.id } });
    let row = await find();
    if (!row?.fulfilledAt) {
      await this.checkouts.fulfil(session);
      row = (await find()) ?? row;
    }
    if (!row) return undefined;
    // Taken back from the account its grant went to: the checkout's record and its grant agree for
    // every checkout Tally wrote, and a disagreement would otherwise take nothing back.
    const grant = row.grantId ? await this.prisma.grant.findUnique({ where: { id: row.grantId }, select: { accountId: true } }) : null;
    return {
      accountId: grant?.accountId ?? row.accountId,
      purchase: { stripeCheckoutSessionId: row.id },
      // What Stripe charged (after any promotion code), not what the checkout was opened for.
      amount: session.amount_total ?? row.amountTotal ?? 0,
      grants: row.grantId ? [{ grantId: row.grantId, credits: Number(row.credits) }] : [],
    };
  }

  /**
   * The subscription invoice a payment intent paid, and the period credits it granted. An invoice that
   * granted nothing yet (its `invoice.paid` comes later, or is processed at the same time) is granted
   * now, through the same once-only path as `invoice.paid`, so that its credits can be taken back: else
   * the reversal would find nothing and be done for good, and the late `invoice.paid` grant the period.
   */
  private async invoicePaidBy(paymentIntent: string): Promise<PaidCredits | undefined> {
    const payments = await callStripe('find the invoice of a payment', () =>
      this.stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: paymentIntent }, limit: 1 }),
    );
    const payment = payments.data[0];
    const invoice = typeof payment?.invoice === 'string' ? payment.invoice : payment?.invoice?.id;
    if (!payment || !invoice) return undefined;
    const find = () => this.prisma.subscriptionGrant.findMany({ where: { stripeInvoiceId: invoice }, orderBy: { createdAt: 'asc' } });
    let rows = await find();
    if (rows.length === 0) {
      const paidInvoice = await callStripe('retrieve the invoice of a payment', () => this.stripe.invoices.retrieve(invoice));
      // Stripe's copy of the subscription, fetched if Tally has none, is at least as new as the payment.
      await this.subscriptionEvents.onInvoicePaid(paidInvoice, paidInvoice.status_transitions?.paid_at ?? paidInvoice.created);
      rows = await find();
    }
    if (rows.length === 0) return undefined;
    return {
      accountId: rows[0].accountId,
      purchase: { stripeInvoiceId: invoice },
      amount: payment.amount_paid ?? payment.amount_requested,
      grants: rows.map((row) => ({ grantId: row.grantId, credits: Number(row.credits) })),
    };
  }
}

/** What a refund or a dispute revokes of one grant, once: the key its restoration undoes too. */
const refundRevocationKey = (refundId: string, grantId: string) => `refund:${refundId}:${grantId}`;
const disputeRevocationKey = (disputeId: string, grantId: string) => `dispute:${disputeId}:${grantId}`;

/** The refunds Stripe lists for `params`, oldest first (Stripe lists the newest first). */
export async function refundsOldestFirst(stripe: Stripe, params: Stripe.RefundListParams, what: string): Promise<Stripe.Refund[]> {
  const refunds: Stripe.Refund[] = [];
  await callStripe(what, () =>
    stripe.refunds.list({ ...params, limit: 100 }).autoPagingEach((refund) => {
      refunds.push(refund);
    }),
  );
  return refunds.reverse();
}

/**
 * The credits each of several returned amounts takes back, in order: each the difference of the
 * rounded-down shares of the running totals, so the whole amount returned takes back every credit
 * whatever the rounding, and no refund's share depends on the ones after it. Never more than all.
 */
export function creditShares(credits: number, amount: number, returned: number[]): number[] {
  if (amount <= 0) return returned.map(() => 0);
  let total = 0n;
  let before = 0n;
  return returned.map((part) => {
    total += BigInt(part);
    const upTo = (BigInt(credits) * (total < BigInt(amount) ? total : BigInt(amount))) / BigInt(amount);
    const share = upTo - before;
    before = upTo;
    return Number(share);
  });
}
