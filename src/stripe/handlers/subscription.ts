import type Stripe from 'stripe';
import { hasPinnedShapes } from '../event-api-version.js';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * Status, plan, period and cancellation follow Stripe's subscription, dated by the event: an older
 * event never overwrites what a newer one recorded (see SubscriptionRecords). An upgrade seen here
 * raises the paid current period to the new plan's credits. A subscription rendered in another API
 * version than the SDK's (the endpoint's) is read again from Stripe, in the SDK's.
 */
export function subscriptionHandlers({ subscriptionEvents }: HandlerDeps): EventHandlers {
  const apply = async (event: Stripe.Event) => {
    const subscription = event.data.object as Stripe.Subscription;
    if (hasPinnedShapes(event)) await subscriptionEvents.onSubscription(subscription, event.created);
    else await subscriptionEvents.onSubscriptionFetched(subscription.id, event.created);
  };
  return {
    'customer.subscription.created': apply,
    'customer.subscription.updated': apply,
    'customer.subscription.deleted': apply,
  };
}
