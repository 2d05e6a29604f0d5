import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import { mergeMetadata } from '../resources/merge-metadata.js';
import type { Subscription } from '../stripe-objects.js';
import { changeItems, type ItemChange, type ProrationBehavior } from './change-subscription-items.js';

export interface SubscriptionChanges {
  items?: ItemChange[] | undefined;
  proration_behavior?: ProrationBehavior | undefined;
  cancel_at_period_end?: boolean | undefined;
  metadata?: Record<string, string> | null | undefined;
  description?: string | undefined;
}

/** `POST /v1/subscriptions/:id`, also used by the portal page. */
export function updateSubscription(ctx: SimulatorContext, subscription: Subscription, changes: SubscriptionChanges): Subscription {
  if (subscription.status === 'canceled' && (changes.items || changes.cancel_at_period_end !== undefined)) {
    throw invalidRequest('A canceled subscription can only update its cancellation_details and metadata.');
  }
  if (subscription.schedule && changes.cancel_at_period_end !== undefined) {
    throw invalidRequest(`The subscription is managed by the subscription schedule \`${subscription.schedule}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`);
  }
  const previous: Record<string, unknown> = {};
  if (changes.metadata !== undefined) {
    const metadata = mergeMetadata(subscription.metadata, changes.metadata);
    if (JSON.stringify(metadata) !== JSON.stringify(subscription.metadata)) {
      previous.metadata = subscription.metadata;
      subscription.metadata = metadata;
    }
  }
  if (changes.description !== undefined && (changes.description || null) !== subscription.description) {
    previous.description = subscription.description;
    subscription.description = changes.description || null;
  }
  if (changes.cancel_at_period_end !== undefined && changes.cancel_at_period_end !== subscription.cancel_at_period_end) {
    Object.assign(previous, {
      cancel_at_period_end: subscription.cancel_at_period_end,
      cancel_at: subscription.cancel_at,
      canceled_at: subscription.canceled_at,
    });
    const periodEnd = subscription.items.data[0]?.current_period_end ?? null;
    subscription.cancel_at_period_end = changes.cancel_at_period_end;
    subscription.cancel_at = changes.cancel_at_period_end ? periodEnd : null;
    subscription.canceled_at = changes.cancel_at_period_end ? ctx.clock.now() : null;
  }
  if (changes.items && changes.items.length > 0) {
    Object.assign(previous, changeItems(ctx, subscription, changes.items, changes.proration_behavior ?? 'create_prorations'));
  }
  if (Object.keys(previous).length > 0) emitEvent(ctx, 'customer.subscription.updated', subscription, previous);
  return subscription;
}
