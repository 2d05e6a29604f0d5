import type Stripe from 'stripe';
import { ConflictFailure, NotFoundFailure, TallyError, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe, retrieveFromStripe, unlessMissing } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import type { Plans } from '../plans/plans.js';
import { isInGoodStanding, isLive, type SubscriptionStatus } from './read-subscription-state.js';
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
    private readonly instance: TallyInstance,
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
    const reply = await unlessMissing('subscription', async () => {
      if (!atPeriodEnd) return callStripe('cancel the subscription', () => this.stripe.subscriptions.cancel(row.stripeSubscriptionId));
      await this.releaseSchedule(await callStripe('retrieve the subscription', () => this.stripe.subscriptions.retrieve(row.stripeSubscriptionId)));
      return callStripe('schedule the cancellation', () => this.stripe.subscriptions.update(row.stripeSubscriptionId, { cancel_at_period_end: true }));
    }).catch(async (error: unknown) => {
      // Stripe refuses to cancel one that ended there already (its event not yet heard of): said so, and recorded.
      if (error instanceof TallyError && error.code === 'stripe_invalid_request') {
        await this.refuseIfEnded(row, await callStripe('retrieve the subscription', () => this.stripe.subscriptions.retrieve(row.stripeSubscriptionId)));
      }
      throw error;
    });
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
    // An upgrade's proration paid while a renewal is unpaid would raise the period it did not pay for.
    if (!isInGoodStanding(row.status)) {
      throw new ConflictFailure('subscription_not_in_good_standing', `Subscription ${row.id} is ${row.status}: its plan can change once its latest invoice is paid`, { subscriptionId: row.id, status: row.status });
    }
    const plan = await this.plans.row(planId);
    if (!plan.active) throw new ValidationFailure('plan_inactive', `Plan ${plan.id} is not on sale`, { planId: plan.id });
    if (row.planId === plan.id && row.stripePriceId === plan.stripePriceId) return this.view(row);
    const current = row.planId ? await this.plans.row(row.planId) : undefined;
    // Billed in the price it has, not in its plan's terms as they are now: a PATCH of the plan leaves its subscribers their price.
    const billed = await this.plans.price(row.stripePriceId);
    if (billed && billed.currency !== plan.currency) {
      throw new ValidationFailure('currency_mismatch', `The subscription is billed in ${billed.currency}; plan ${plan.id} is in ${plan.currency}`, { planId: plan.id });
    }
    const subscription = await retrieveFromStripe('retrieve the subscription', () => this.stripe.subscriptions.retrieve(row.stripeSubscriptionId));
    if (!subscription) {
      throw new ConflictFailure('stripe_subscription_missing', `Stripe has no subscription '${row.stripeSubscriptionId}' (made under another Stripe key?): it cannot change plan; cancel it, and the account can subscribe again`, {
        subscriptionId: row.id,
        stripeSubscriptionId: row.stripeSubscriptionId,
      });
    }
    await this.refuseIfEnded(row, subscription);
    await this.releaseSchedule(subscription);
    const item = subscription.items.data[0];
    if (!item) throw new ConflictFailure('subscription_has_no_items', 'The Stripe subscription has no item to change');
    // An upgrade is charged for the credits the period does not have yet: back to a plan it was
    // granted at already (down, then up again, in one period) charges nothing and grants nothing.
    const level = row.currentPeriodEnd ? await periodLevel(this.prisma, row.stripeSubscriptionId, row.currentPeriodEnd) : 0;
    const upgrade = !current || plan.interval !== item.price.recurring?.interval || (plan.credits > current.credits && Number(plan.credits) > level);
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

  /**
   * A subscription that ended at Stripe (canceled in the Dashboard, say) before Tally heard of it: the
   * fresh copy is recorded, and the request is a 409 subscription_canceled, not Stripe's refusal (a
   * 502), and the account can subscribe again.
   */
  private async refuseIfEnded(row: SubscriptionRow, fresh: Stripe.Subscription): Promise<void> {
    if (isLive(fresh.status)) return;
    const outcome = await this.events.apply(fresh, row.stateAt);
    throw canceled(outcome?.row ?? { ...row, status: fresh.status });
  }

  /**
   * A subscription under a schedule (the portal's "downgrade at period end", one made in the
   * Dashboard) follows the schedule's phases: Stripe refuses to change its cancellation directly, and
   * the next phase would set its own price over a plan change. The request through Tally is the latest
   * word, so the schedule is released first: the subscription stays as it is, free of it. Two requests
   * releasing it at once send the same idempotency key, so the second is given the first's answer.
   */
  private async releaseSchedule(subscription: Stripe.Subscription): Promise<void> {
    const schedule = typeof subscription.schedule === 'string' ? subscription.schedule : subscription.schedule?.id;
    if (!schedule) return;
    await callStripe('release the subscription schedule', () => this.stripe.subscriptionSchedules.release(schedule, {}, { idempotencyKey: this.instance.stripeKey(`release-${schedule}`) }));
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

function canceled(row: Pick<SubscriptionRow, 'id'> & { status: string }) {
  return new ConflictFailure('subscription_canceled', `Subscription ${row.id} is ${row.status}`, { subscriptionId: row.id, status: row.status });
}
