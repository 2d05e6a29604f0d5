import type Stripe from 'stripe';
import { ConflictFailure, NotFoundFailure, TallyError, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe, retrieveFromStripe, unlessMissing } from '../../stripe/call-stripe.js';
import type { Plans } from '../plans/plans.js';
import { isLive, type SubscriptionStatus } from './read-subscription-state.js';
import type { SubscriptionEvents } from './subscription-events.js';
import type { SubscriptionRow } from './subscription-records.js';
import { subscriptionView, type SubscriptionView } from './subscription-view.js';
import { periodLevel } from './top-up-period.js';

const LIVE: SubscriptionStatus[] = ['active', 'trialing', 'past_due', 'unpaid', 'paused'];

/**
 * What a product asks of an account's subscription. Changes go to Stripe; Tally's state follows from
 * Stripe's reply and events, never from the request alone.
 */
export class Subscriptions {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly plans: Plans,
    private readonly events: SubscriptionEvents,
  ) {}

  /** The account's live subscription, or else its latest one. */
  async forAccount(accountId: string): Promise<SubscriptionView> {
    const account = await this.prisma.account.findUnique({ where: { id: accountId } });
    if (!account) throw new NotFoundFailure('account', accountId);
    const rows = await this.prisma.subscription.findMany({ where: { accountId }, orderBy: { createdAt: 'desc' } });
    const row = rows.find((r) => isLive(r.status)) ?? rows[0];
    if (!row) throw new TallyError('not_found', 'subscription_not_found', `Account ${accountId} has no subscription`, { accountId });
    return this.view(row);
  }

  /** Refuses a second subscription while one is live (in Tally's records, or in Stripe's for the customer). */
  async assertNoLiveSubscription(accountId: string, stripeCustomerId?: string): Promise<void> {
    const live = await this.prisma.subscription.findFirst({ where: { accountId, status: { in: LIVE } } });
    if (live) throw subscriptionExists(accountId, { subscriptionId: live.id });
    if (!stripeCustomerId) return;
    // A subscription paid moments ago may not have reached Tally yet: Stripe knows.
    const listed = await callStripe('list the customer\'s subscriptions', () => this.stripe.subscriptions.list({ customer: stripeCustomerId, status: 'all', limit: 20 }));
    const other = listed.data.find((s) => isLive(s.status) && s.metadata?.tally_account_id === accountId);
    if (other) throw subscriptionExists(accountId, { subscriptionId: other.id });
  }

  async cancel(id: string, atPeriodEnd: boolean): Promise<SubscriptionView> {
    const row = await this.row(id);
    if (row.status === 'canceled' || row.status === 'incomplete_expired') throw canceled(row);
    const reply = await unlessMissing('subscription', () =>
      atPeriodEnd
        ? callStripe('schedule the cancellation', () => this.stripe.subscriptions.update(row.stripeSubscriptionId, { cancel_at_period_end: true }))
        : callStripe('cancel the subscription', () => this.stripe.subscriptions.cancel(row.stripeSubscriptionId)),
    );
    // Stripe does not know it (made under another key): nothing there to cancel, and it can never renew.
    return reply ? this.afterReply(row, reply) : this.view(await this.events.endUnknown(row));
  }

  /**
   * A move to another plan. An upgrade (more credits) is charged now, prorated, and the current period
   * is raised to the new plan's credits at once; a downgrade changes the price without proration, so it
   * takes effect from the next period: the current period keeps what it was granted.
   */
  async change(id: string, planId: string): Promise<SubscriptionView> {
    const row = await this.row(id);
    if (!isLive(row.status)) throw canceled(row);
    const plan = await this.plans.row(planId);
    if (!plan.active) throw new ValidationFailure('plan_inactive', `Plan ${plan.id} is not on sale`, { planId: plan.id });
    if (row.planId === plan.id && row.stripePriceId === plan.stripePriceId) return this.view(row);
    const current = row.planId ? await this.plans.row(row.planId) : undefined;
    if (current && current.currency !== plan.currency) {
      throw new ValidationFailure('currency_mismatch', `The subscription is billed in ${current.currency}; plan ${plan.id} is in ${plan.currency}`, { planId: plan.id });
    }
    const subscription = await retrieveFromStripe('retrieve the subscription', () => this.stripe.subscriptions.retrieve(row.stripeSubscriptionId));
    if (!subscription) {
      throw new ConflictFailure('stripe_subscription_missing', `Stripe has no subscription '${row.stripeSubscriptionId}' (made under another Stripe key?): it cannot change plan; cancel it, and the account can subscribe again`, {
        subscriptionId: row.id,
        stripeSubscriptionId: row.stripeSubscriptionId,
      });
    }
    const item = subscription.items.data[0];
    if (!item) throw new ConflictFailure('subscription_has_no_items', 'The Stripe subscription has no item to change');
    const upgrade = !current || plan.credits > current.credits || plan.interval !== current.interval;
    const reply = await this.plans.withPrice(plan, ({ stripePriceId }) =>
      callStripe('change the plan', () =>
        this.stripe.subscriptions.update(row.stripeSubscriptionId, {
          items: [{ id: item.id, price: stripePriceId }],
          proration_behavior: upgrade ? 'always_invoice' : 'none',
        }),
      ),
    );
    return this.afterReply(row, reply);
  }

  private async afterReply(row: SubscriptionRow, reply: Stripe.Subscription): Promise<SubscriptionView> {
    // Stripe's reply is newer than anything Tally holds; dated like the row, so a later event still applies.
    const outcome = await this.events.apply(reply, row.stateAt);
    const latest = outcome?.row ?? row;
    await this.events.topUpCurrentPeriod(latest);
    return this.view(latest);
  }

  /** By Tally's id or Stripe's. */
  private async row(id: string): Promise<SubscriptionRow> {
    const row = await this.prisma.subscription.findFirst({ where: { OR: [{ id }, { stripeSubscriptionId: id }] } });
    if (!row) throw new NotFoundFailure('subscription', id);
    return row;
  }

  private async view(row: SubscriptionRow): Promise<SubscriptionView> {
    const plan = row.planId ? await this.plans.row(row.planId) : null;
    const level = row.currentPeriodEnd ? await periodLevel(this.prisma, row.stripeSubscriptionId, row.currentPeriodEnd) : 0;
    return subscriptionView(row, plan, level);
  }
}

/** The account's subscription, live or about to be: named by its id, or by the checkout that pays for it. */
export function subscriptionExists(accountId: string, found: { subscriptionId: string } | { checkoutSessionId: string }) {
  return new ConflictFailure('subscription_exists', `Account ${accountId} already has a live subscription; change its plan instead`, { accountId, ...found });
}

function canceled(row: SubscriptionRow) {
  return new ConflictFailure('subscription_canceled', `Subscription ${row.id} is ${row.status}`, { subscriptionId: row.id, status: row.status });
}
