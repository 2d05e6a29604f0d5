import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { UnusableStripeObjectFailure } from '../../errors.js';
import { callStripe, isMissingStripeObject } from '../../stripe/call-stripe.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Plans } from '../plans/plans.js';
import { computePeriodTargets, type CreditLine, type PlanCredits } from './compute-period-targets.js';
import { isInGoodStanding, type SubscriptionStatus } from './read-subscription-state.js';
import type { ApplyOutcome, SubscriptionRecords, SubscriptionRow } from './subscription-records.js';
import { periodLevel, periodPlanId, topUpPeriod } from './top-up-period.js';

export interface CheckoutGrant {
  granted: boolean;
  grantId: string | null;
  available?: number;
}

/**
 * Turns Stripe's subscription and invoice events into Tally's state and grants. Every path is
 * idempotent and order-free: state is dated by Stripe's clock (see SubscriptionRecords), and credits
 * go through topUpPeriod, which grants each period once whoever asks first.
 */
export class SubscriptionEvents {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly ledger: Ledger,
    private readonly plans: Plans,
    private readonly records: SubscriptionRecords,
  ) {}

  /** `customer.subscription.created|updated|deleted`. */
  async onSubscription(subscription: Stripe.Subscription, created: number): Promise<void> {
    let outcome = await this.records.apply(subscription, created, 'event');
    if (outcome && !outcome.applied && outcome.row.stateAt === created) {
      // Two events of the same second: their order is unknown, so ask Stripe for the state after both.
      outcome = await this.syncNamed(subscription.id, created);
    }
    if (outcome) await this.topUpCurrentPeriod(outcome.row);
  }

  /** A `customer.subscription.*` event whose payload is not read (another API version's): Stripe's copy now. */
  async onSubscriptionFetched(stripeSubscriptionId: string, created: number): Promise<void> {
    const outcome = await this.syncNamed(stripeSubscriptionId, created);
    if (outcome) await this.topUpCurrentPeriod(outcome.row);
  }

  /** `invoice.paid`: each period the invoice pays for gets its plan's credits, once. */
  async onInvoicePaid(invoice: Stripe.Invoice, created: number): Promise<CheckoutGrant> {
    const subscriptionId = subscriptionIdOf(invoice);
    if (!subscriptionId || invoice.status !== 'paid') return { granted: false, grantId: null };
    // Paid before Tally heard of the subscription (events arrive in any order): ask Stripe.
    const row = (await this.records.find(subscriptionId)) ?? (await this.syncNamed(subscriptionId, created))?.row;
    if (!row) return { granted: false, grantId: null };
    const plans = new Map<string, PlanCredits | undefined>();
    const lines = await this.linesOf(invoice);
    for (const line of lines) {
      if (line.priceId && !plans.has(line.priceId)) plans.set(line.priceId, credits(await this.plans.forPrice(line.priceId)));
    }
    const result: CheckoutGrant = { granted: false, grantId: null };
    const targets = computePeriodTargets(lines, (priceId) => plans.get(priceId));
    for (const target of targets) {
      const done = await topUpPeriod(this.ledger, this.prisma, {
        accountId: row.accountId,
        stripeSubscriptionId: subscriptionId,
        stripeInvoiceId: invoice.id,
        start: target.start,
        end: target.end,
        planId: target.planId,
        target: target.credits,
        base: target.base,
        rollover: target.rollover,
      });
      result.granted ||= done.granted > 0;
      result.grantId ??= done.grantId;
    }
    // An upgrade Tally saw before this invoice: the period it is in is raised to the new plan's level,
    // above what this invoice paid for (a proration invoice of the upgrade claims that rise).
    if (targets.some((target) => isCurrentPeriod(row, target.end))) await this.topUpCurrentPeriod(row);
    return result;
  }

  /** `invoice.payment_failed`: nothing is granted; the subscription's status (past_due) comes from Stripe. */
  async onInvoicePaymentFailed(invoice: Stripe.Invoice, created: number): Promise<void> {
    const subscriptionId = subscriptionIdOf(invoice);
    if (subscriptionId) await this.syncNamed(subscriptionId, created);
  }

  /**
   * A paid subscription-mode checkout (webhook or the success page): records the subscription and
   * grants its first invoice through the same path as `invoice.paid`, so the two never grant twice.
   * `recorded`: whether the subscription is Tally's (SubscriptionRecords.apply), so that the checkout
   * is fulfilled by it.
   */
  async onCheckoutPaid(session: Stripe.Checkout.Session, at: number): Promise<CheckoutGrant & { recorded: boolean }> {
    const subscriptionId = typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
    if (!subscriptionId) return { granted: false, grantId: null, recorded: false };
    if (!(await this.sync(subscriptionId, at))) return { granted: false, grantId: null, recorded: false };
    const invoiceId = typeof session.invoice === 'string' ? session.invoice : session.invoice?.id;
    if (!invoiceId) return { granted: false, grantId: null, recorded: true };
    const invoice = await callStripe('retrieve the first invoice', () => this.stripe.invoices.retrieve(invoiceId));
    return { ...(await this.onInvoicePaid(invoice, at)), recorded: true };
  }

  retrieveInvoice(id: string): Promise<Stripe.Invoice> {
    return callStripe('retrieve the invoice', () => this.stripe.invoices.retrieve(id));
  }

  /** Fetches the subscription from Stripe and records it as at least as new as `at`. */
  async sync(stripeSubscriptionId: string, at: number): Promise<ApplyOutcome | undefined> {
    const subscription = await callStripe('retrieve the subscription', () => this.stripe.subscriptions.retrieve(stripeSubscriptionId));
    return this.apply(subscription, at);
  }

  /** `sync` of a subscription an event names: one Stripe does not know can never be recorded or granted, so no retry is worth making. */
  private async syncNamed(stripeSubscriptionId: string, at: number): Promise<ApplyOutcome | undefined> {
    return this.sync(stripeSubscriptionId, at).catch((error) => {
      if (!isMissingStripeObject(error, 'subscription')) throw error;
      throw new UnusableStripeObjectFailure(`Stripe does not know subscription ${stripeSubscriptionId}`, { stripeSubscriptionId });
    });
  }

  /** Records a copy Stripe just returned (a fetch, or the reply to a change Tally asked for). */
  async apply(subscription: Stripe.Subscription, at: number): Promise<ApplyOutcome | undefined> {
    return this.records.apply(subscription, at, 'fetched');
  }

  /** Ends a subscription Stripe does not know, on a cancel (`SubscriptionRecords.endUnknown`). */
  endUnknown(row: SubscriptionRow): Promise<SubscriptionRow> {
    return this.records.endUnknown(row);
  }

  /**
   * An upgrade without an invoice of its own (a plan change in the portal, or Tally's change seen
   * before its proration invoice): the current period is raised to the new plan's level at once, but
   * only once the period has been paid for (it has credits) and the subscription is in good standing,
   * and only when the subscription is on another plan than the one the period was last granted for: a
   * plan whose credits were raised (PATCH) gives its subscribers more from their next renewal, which
   * pays for them, not for the period already paid.
   */
  async topUpCurrentPeriod(row: SubscriptionRow): Promise<void> {
    if (!row.planId || !row.currentPeriodEnd || !row.currentPeriodStart || !isInGoodStanding(row.status as SubscriptionStatus)) return;
    const plan = await this.plans.row(row.planId);
    const level = await periodLevel(this.prisma, row.stripeSubscriptionId, row.currentPeriodEnd);
    if (level === 0 || Number(plan.credits) <= level) return;
    if ((await periodPlanId(this.prisma, row.stripeSubscriptionId, row.currentPeriodEnd)) === plan.id) return;
    await topUpPeriod(this.ledger, this.prisma, {
      accountId: row.accountId,
      stripeSubscriptionId: row.stripeSubscriptionId,
      stripeInvoiceId: null,
      planId: plan.id,
      start: row.currentPeriodStart.getTime() / 1000,
      end: row.currentPeriodEnd.getTime() / 1000,
      target: Number(plan.credits),
      rollover: plan.rollover,
    });
  }

  /**
   * The invoice's lines as Stripe holds them when the payload has only some of them (`has_more`) or
   * none (a payload edited or made by hand): a renewal is granted for what it paid, not skipped.
   */
  private async linesOf(invoice: Stripe.Invoice): Promise<CreditLine[]> {
    let lines = invoice.lines?.data;
    if (!Array.isArray(lines) || invoice.lines.has_more) lines = await this.listLines(invoice.id);
    return lines.map((line) => ({
      amount: line.amount,
      quantity: line.quantity ?? 1,
      priceId: priceOf(line),
      period: { start: line.period.start, end: line.period.end },
    }));
  }

  /** Stripe's lines of an invoice; one Stripe does not know can never be granted, so no retry is worth making. */
  private async listLines(stripeInvoiceId: string): Promise<Stripe.InvoiceLineItem[]> {
    const lines: Stripe.InvoiceLineItem[] = [];
    await callStripe("list the invoice's lines", async () => {
      for await (const line of this.stripe.invoices.listLineItems(stripeInvoiceId, { limit: 100 })) lines.push(line);
    }).catch((error) => {
      if (!isMissingStripeObject(error, 'invoice')) throw error;
      throw new UnusableStripeObjectFailure(`Stripe does not know invoice ${stripeInvoiceId}: no lines to read`, { stripeInvoiceId });
    });
    return lines;
  }
}

export function subscriptionIdOf(invoice: Stripe.Invoice): string | undefined {
  const subscription = invoice.parent?.subscription_details?.subscription;
  return typeof subscription === 'string' ? subscription : subscription?.id;
}

function priceOf(line: Stripe.InvoiceLineItem): string | null {
  const price = line.pricing?.price_details?.price;
  return typeof price === 'string' ? price : (price?.id ?? null);
}

function credits(plan: { id: string; credits: bigint; rollover: boolean } | undefined): PlanCredits | undefined {
  return plan ? { id: plan.id, credits: Number(plan.credits), rollover: plan.rollover } : undefined;
}

function isCurrentPeriod(row: SubscriptionRow, end: number): boolean {
  return row.currentPeriodEnd !== null && row.currentPeriodEnd.getTime() === end * 1000;
}
