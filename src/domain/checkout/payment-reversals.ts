import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Checkouts } from './checkouts.js';

/** Refunds whose money is on its way back, or back, to the customer. */
const RETURNING = new Set(['succeeded', 'pending', 'requires_action']);

/** The checkout a payment paid for, as far as taking its credits back needs it. */
interface PaidCheckout {
  checkoutId: string;
  accountId: string;
  grantId: string;
  credits: number;
  /** What was paid, in minor units: the credits are taken back in proportion to what returns. */
  amount: number;
}

/**
 * Takes back the credits of a pack or bill whose payment went back to the customer: refunded (in the
 * Dashboard or through the API), or a dispute lost. Each refund and each lost dispute takes back its
 * share of the checkout's credits, once for good (a revocation keyed by the refund or dispute), from
 * what is left of the grant: credits already spent stay spent (no balance goes below zero), and the
 * ledger's `adjustment` entry says how many were asked for and how many were taken.
 *
 * Subscription invoices are not covered: their payments are not a checkout's.
 */
export class PaymentReversals {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly ledger: Ledger,
    private readonly checkouts: Checkouts,
    private readonly logger: Logger,
  ) {}

  /** `charge.refunded`: every refund of the charge so far, each taking back its share once. */
  async onChargeRefunded(charge: Stripe.Charge): Promise<void> {
    const paid = await this.checkoutPaidBy(charge.payment_intent);
    if (!paid) return;
    const refunds = (await this.refundsOf(charge.id)).filter((refund) => RETURNING.has(refund.status ?? ''));
    const shares = creditShares(paid.credits, paid.amount, refunds.map((refund) => refund.amount));
    for (const [i, refund] of refunds.entries()) {
      await this.revoke(paid, shares[i], `refund:${refund.id}`, 'payment refunded', { stripeRefundId: refund.id, stripeChargeId: charge.id });
    }
  }

  /** `charge.dispute.closed`: a dispute lost takes back the disputed share; one won changes nothing. */
  async onDisputeClosed(dispute: Stripe.Dispute): Promise<void> {
    if (dispute.status !== 'lost') return;
    const paid = await this.checkoutPaidBy(dispute.payment_intent);
    if (!paid) return;
    const [share] = creditShares(paid.credits, paid.amount, [dispute.amount]);
    const charge = typeof dispute.charge === 'string' ? dispute.charge : dispute.charge.id;
    await this.revoke(paid, share, `dispute:${dispute.id}`, 'payment disputed, and the dispute lost', { stripeDisputeId: dispute.id, stripeChargeId: charge });
  }

  private async revoke(paid: PaidCheckout, credits: number, revocationKey: string, reason: string, metadata: Record<string, unknown>): Promise<void> {
    if (credits === 0) return;
    const { value } = await this.ledger.revoke({
      accountId: paid.accountId,
      grantId: paid.grantId,
      amount: credits,
      revocationKey,
      reason,
      metadata: { ...metadata, stripeCheckoutSessionId: paid.checkoutId },
    });
    if (value.entryId === null) return;
    const log = { accountId: paid.accountId, checkoutSessionId: paid.checkoutId, revocationKey, requested: credits, revoked: value.revoked };
    if (value.revoked < credits) this.logger.warn(log, 'credits of a returned payment were already spent or held; took back what was left');
    else this.logger.info(log, 'took back the credits of a returned payment');
  }

  /**
   * The Tally checkout a payment intent paid, granted: a checkout not yet fulfilled (the refund's
   * event came first) is fulfilled now, through the same once-only path, so that its credits can be
   * taken back. Undefined for a payment that is not a checkout of Tally's, or granted nothing.
   */
  private async checkoutPaidBy(paymentIntent: string | Stripe.PaymentIntent | null): Promise<PaidCheckout | undefined> {
    const id = typeof paymentIntent === 'string' ? paymentIntent : paymentIntent?.id;
    if (!id) return undefined;
    const sessions = await callStripe('find the checkout session of a payment', () => this.stripe.checkout.sessions.list({ payment_intent: id, limit: 1 }));
    const session = sessions.data[0];
    if (!session) return undefined;
    const find = () => this.prisma.checkout.findUnique({ where: { id: session.id } });
    let row = await find();
    if (!row) return undefined;
    if (!row.fulfilledAt) {
      await this.checkouts.sync(session.id);
      row = await find();
    }
    if (!row?.grantId) {
      this.logger.info({ checkoutSessionId: session.id, paymentIntent: id }, 'a returned payment whose checkout granted no credits: nothing to take back');
      return undefined;
    }
    return { checkoutId: row.id, accountId: row.accountId, grantId: row.grantId, credits: Number(row.credits), amount: row.amountTotal ?? session.amount_total ?? 0 };
  }

  private async refundsOf(chargeId: string): Promise<Stripe.Refund[]> {
    const refunds: Stripe.Refund[] = [];
    await callStripe('list the refunds of a charge', () =>
      this.stripe.refunds.list({ charge: chargeId, limit: 100 }).autoPagingEach((refund) => {
        refunds.push(refund);
      }),
    );
    // Stripe lists the newest first; each refund's share is counted on top of those before it.
    return refunds.reverse();
  }
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
