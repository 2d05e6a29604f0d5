import type Stripe from 'stripe';
import type { StripeSimulator } from '../../src/simulator/index.js';
import type { SoakContext } from './ledger-operations.js';

/** Stripe as the soak drives it: the simulator Tally talks to, and a client of it. */
export interface SoakStripe {
  simulator: StripeSimulator;
  client: Stripe;
  /** Where the simulator delivers its signed events: each process's webhook route. */
  webhookUrls: string[];
}

interface Payment {
  accountId: string;
  paymentIntent: string;
  chargeId: string;
  amount: number;
  refunded: number;
  disputed: boolean;
}

/**
 * Packs bought and paid, refunded in part or whole, refunds that fail, disputes opened and closed:
 * Stripe's events, signed and delivered to either process, grant and revoke while the ledger's
 * requests run, so revocations meet held credits (debts) and restorations meet collections.
 */
export class StripeOperations {
  readonly payments: Payment[] = [];
  private readonly refunds: Array<{ id: string; payment: Payment; amount: number; failed: boolean }> = [];
  private readonly disputes: Array<{ id: string; closed: boolean }> = [];
  /** Simulator refusals (a refund of a charge disputed meanwhile, say): Stripe's answers, not Tally's. */
  refused = 0;

  constructor(
    private readonly stripe: SoakStripe,
    private readonly packId: string,
  ) {}

  operations(): Record<string, { weight: number; run: (ctx: SoakContext) => Promise<void> }> {
    return {
      buy: { weight: 2, run: (ctx) => this.stripeStep(ctx, 'buy', () => this.buy(ctx)) },
      refund: { weight: 2, run: (ctx) => this.stripeStep(ctx, 'refund', () => this.refund(ctx)) },
      failRefund: { weight: 0.7, run: (ctx) => this.stripeStep(ctx, 'failRefund', () => this.failRefund(ctx)) },
      dispute: { weight: 0.5, run: (ctx) => this.stripeStep(ctx, 'dispute', () => this.dispute(ctx)) },
      closeDispute: { weight: 0.5, run: (ctx) => this.stripeStep(ctx, 'closeDispute', () => this.closeDispute(ctx)) },
    };
  }

  private async stripeStep(ctx: SoakContext, op: string, step: () => Promise<boolean>) {
    this.stripe.simulator.setWebhookUrl(ctx.random.pick(this.stripe.webhookUrls));
    try {
      if (await step()) ctx.journal.count(op);
    } catch (error) {
      if (!(error as { type?: string }).type?.startsWith('Stripe')) throw error;
      this.refused++;
    }
  }

  private async buy(ctx: SoakContext): Promise<boolean> {
    const accountId = ctx.random.pick(ctx.accounts);
    const index = ctx.random.int(0, ctx.services.length - 1);
    const reply = await ctx.services[index].request('POST', '/v1/checkout/sessions', { accountId, packId: this.packId });
    ctx.journal.answered('checkout', `checkout for ${accountId} on process ${index}`, reply, [201]);
    if (reply.status !== 201) return false;
    await this.stripe.simulator.pay(reply.body.id);
    const session = await this.stripe.client.checkout.sessions.retrieve(reply.body.id);
    const paymentIntent = session.payment_intent as string;
    const charges = await this.stripe.client.charges.list({ payment_intent: paymentIntent });
    this.payments.push({ accountId, paymentIntent, chargeId: charges.data[0].id, amount: session.amount_total ?? 0, refunded: 0, disputed: false });
    return true;
  }

  private refundable = () => this.payments.filter((p) => !p.disputed && p.refunded < p.amount);

  private async refund(ctx: SoakContext): Promise<boolean> {
    const payment = pickAny(ctx, this.refundable());
    if (!payment) return false;
    const left = payment.amount - payment.refunded;
    const amount = ctx.random.chance(0.4) ? left : ctx.random.int(1, left);
    payment.refunded += amount;
    try {
      const refund = await this.stripe.client.refunds.create({ payment_intent: payment.paymentIntent, amount });
      this.refunds.push({ id: refund.id, payment, amount, failed: false });
    } catch (error) {
      payment.refunded -= amount;
      throw error;
    }
    return true;
  }

  private async failRefund(ctx: SoakContext): Promise<boolean> {
    const refund = pickAny(ctx, this.refunds.filter((r) => !r.failed));
    if (!refund) return false;
    refund.failed = true;
    await this.stripe.simulator.failRefund(refund.id);
    refund.payment.refunded -= refund.amount;
    return true;
  }

  private async dispute(ctx: SoakContext): Promise<boolean> {
    const payment = pickAny(ctx, this.refundable());
    if (!payment) return false;
    payment.disputed = true;
    this.disputes.push({ id: await this.stripe.simulator.openDispute(payment.chargeId), closed: false });
    return true;
  }

  private async closeDispute(ctx: SoakContext): Promise<boolean> {
    const dispute = pickAny(ctx, this.disputes.filter((d) => !d.closed));
    if (!dispute) return false;
    dispute.closed = true;
    await this.stripe.simulator.closeDispute(dispute.id, ctx.random.chance(0.5));
    return true;
  }
}

const pickAny = <T>(ctx: SoakContext, items: T[]): T | undefined => (items.length ? ctx.random.pick(items) : undefined);
