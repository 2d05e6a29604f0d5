import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import type { Subscription } from '../stripe-objects.js';
import { nextPeriodEnd } from './add-interval.js';
import { cancelSubscription } from './cancel-subscription.js';
import { collectInvoice } from './collect-invoice.js';
import { createInvoice } from './create-invoice.js';

/** What Stripe does when a period ends (the clock already stands at the period end). */
export function renewSubscription(ctx: SimulatorContext, subscription: Subscription): void {
  const now = ctx.clock.now();
  if (subscription.cancel_at !== null && subscription.cancel_at <= now) {
    cancelSubscription(ctx, subscription);
    return;
  }
  const previous: Record<string, unknown> = {
    items: structuredClone(subscription.items),
    latest_invoice: subscription.latest_invoice,
  };
  for (const item of subscription.items.data) {
    const { interval, interval_count: count } = item.price.recurring!;
    item.current_period_start = item.current_period_end;
    item.current_period_end = nextPeriodEnd(subscription.billing_cycle_anchor, interval, count, item.current_period_start);
  }
  const invoice = createInvoice(ctx, {
    customer: subscription.customer,
    billingReason: 'subscription_cycle',
    subscription,
    lines: subscription.items.data.map((item) => ({
      price: item.price,
      quantity: item.quantity,
      period: { start: item.current_period_start, end: item.current_period_end },
      subscriptionItem: item.id,
    })),
  });
  subscription.latest_invoice = invoice.id;
  const paid = collectInvoice(ctx, invoice);
  const status = paid ? 'active' : 'past_due';
  if (subscription.status !== status) {
    previous.status = subscription.status;
    subscription.status = status;
  }
  emitEvent(ctx, 'customer.subscription.updated', subscription, previous);
}

/** When the subscription next needs attention: its period end or an earlier `cancel_at`. */
export function subscriptionDueAt(subscription: Subscription): number | undefined {
  if (subscription.status !== 'active' && subscription.status !== 'past_due') return undefined;
  const periodEnd = subscription.items.data[0]?.current_period_end;
  if (periodEnd === undefined) return undefined;
  return subscription.cancel_at !== null ? Math.min(periodEnd, subscription.cancel_at) : periodEnd;
}
