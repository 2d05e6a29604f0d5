import type Stripe from 'stripe';
import { UnusableStripeObjectFailure } from '../../errors.js';

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled' | 'paused';

/** The fields Tally keeps of a Stripe subscription, read from any copy of it (event payload or fetched). */
export interface SubscriptionState {
  stripeSubscriptionId: string;
  stripeCustomerId: string;
  stripePriceId: string;
  status: SubscriptionStatus;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: Date | null;
  canceledAt: Date | null;
  endedAt: Date | null;
  /** From the metadata Tally puts on subscriptions it sells; absent on anyone else's. */
  accountId: string | undefined;
}

const date = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? null : new Date(seconds * 1000));

/** Periods live on the items since API 2025-03-31; Tally's subscriptions have one item, the plan's price. */
export function readSubscriptionState(subscription: Stripe.Subscription): SubscriptionState {
  if (!Array.isArray(subscription.items?.data)) {
    throw new UnusableStripeObjectFailure(`Subscription ${subscription.id} has no items: no plan or period to read`, { stripeSubscriptionId: subscription.id });
  }
  const customer = customerIdOf(subscription);
  if (!customer) {
    throw new UnusableStripeObjectFailure(`Subscription ${subscription.id} has no customer: no account to read`, { stripeSubscriptionId: subscription.id });
  }
  const item = subscription.items.data[0];
  return {
    stripeSubscriptionId: subscription.id,
    stripeCustomerId: customer,
    stripePriceId: item?.price.id ?? '',
    status: knownStatus(subscription.status),
    currentPeriodStart: date(item?.current_period_start),
    currentPeriodEnd: date(item?.current_period_end),
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    cancelAt: date(subscription.cancel_at),
    canceledAt: date(subscription.canceled_at),
    endedAt: date(subscription.ended_at),
    accountId: subscription.metadata?.tally_account_id || undefined,
  };
}

/** Stripe's type says every subscription has a customer; a payload edited or made by hand may not. */
function customerIdOf(subscription: Stripe.Subscription): string | undefined {
  const customer: unknown = subscription.customer;
  if (typeof customer === 'string') return customer || undefined;
  const id = (customer as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && id ? id : undefined;
}

const STATUSES: ReadonlySet<string> = new Set(['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'canceled', 'paused']);

/** A status a newer API version may add is kept as `incomplete`: neither live nor granted anything. */
function knownStatus(status: string): SubscriptionStatus {
  return STATUSES.has(status) ? (status as SubscriptionStatus) : 'incomplete';
}

/** A subscription that still bills or may bill again: an account has at most one. */
export function isLive(status: string): boolean {
  return status === 'active' || status === 'trialing' || status === 'past_due' || status === 'unpaid' || status === 'paused';
}

/** Only a subscription in good standing gets credits beyond what its invoices paid for. */
export function isInGoodStanding(status: string): boolean {
  return status === 'active' || status === 'trialing';
}
