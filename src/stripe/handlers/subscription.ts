import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * Status, plan, period and cancellation follow Stripe's subscription, dated by the event: an older
 * event never overwrites what a newer one recorded (see SubscriptionRecords). An upgrade seen here
 * raises the paid current period to the new plan's credits.
 */
export function subscriptionHandlers({ subscriptionEvents }: HandlerDeps): EventHandlers {
  const apply = async (event: Stripe.Event) => {
    await subscriptionEvents.onSubscription(event.data.object as Stripe.Subscription, event.created);
  };
  return {
    'customer.subscription.created': apply,
    'customer.subscription.updated': apply,
    'customer.subscription.deleted': apply,
  };
}
