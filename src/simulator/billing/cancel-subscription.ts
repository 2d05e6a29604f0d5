import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import type { Subscription } from '../stripe-objects.js';
import { endSchedule } from './subscription-schedules.js';

export function cancelSubscription(ctx: SimulatorContext, subscription: Subscription, reason = 'cancellation_requested'): Subscription {
  if (subscription.status === 'canceled') {
    throw invalidRequest(`This subscription has already been canceled: '${subscription.id}'`, undefined, 'resource_missing');
  }
  const now = ctx.clock.now();
  subscription.status = 'canceled';
  subscription.canceled_at ??= now;
  subscription.ended_at = now;
  subscription.cancellation_details = { ...subscription.cancellation_details, reason };
  endSchedule(ctx, subscription, 'canceled');
  emitEvent(ctx, 'customer.subscription.deleted', subscription);
  return subscription;
}
