import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { newId } from '../ids.js';
import type { CheckoutLineItem, Invoice, Subscription, SubscriptionItem } from '../stripe-objects.js';
import { addIntervals } from './add-interval.js';
import { collectInvoice } from './collect-invoice.js';
import { createInvoice } from './create-invoice.js';

export interface StartSubscriptionInput {
  customer: string;
  lineItems: CheckoutLineItem[];
  metadata: Record<string, string>;
  description: string | null;
}

/** What paying a subscription-mode Checkout Session creates: an active subscription and its first, paid invoice. */
export function startSubscription(ctx: SimulatorContext, input: StartSubscriptionInput): { subscription: Subscription; invoice: Invoice } {
  const now = ctx.clock.now();
  const id = newId('sub_');
  const recurring = input.lineItems.filter((item) => item.price.recurring);
  const items: SubscriptionItem[] = recurring.map((item) => {
    const { interval, interval_count: count } = item.price.recurring!;
    return {
      id: newId('si_', 14),
      object: 'subscription_item',
      created: now,
      current_period_end: addIntervals(now, interval, count),
      current_period_start: now,
      discounts: [],
      metadata: {},
      price: item.price,
      quantity: item.quantity,
      subscription: id,
      tax_rates: [],
    };
  });
  const subscription: Subscription = {
    id,
    object: 'subscription',
    billing_cycle_anchor: now,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method: 'charge_automatically',
    created: now,
    currency: recurring[0]?.currency ?? 'usd',
    customer: input.customer,
    default_payment_method: null,
    description: input.description,
    discounts: [],
    ended_at: null,
    items: { object: 'list', data: items, has_more: false, total_count: items.length, url: `/v1/subscription_items?subscription=${id}` },
    latest_invoice: null,
    livemode: false,
    metadata: { ...input.metadata },
    schedule: null,
    start_date: now,
    status: 'active',
    test_clock: null,
    trial_end: null,
    trial_start: null,
  };
  ctx.store.subscriptions.set(id, subscription);
  const invoice = createInvoice(ctx, {
    customer: input.customer,
    billingReason: 'subscription_create',
    subscription,
    lines: input.lineItems.map((item) => {
      const subscriptionItem = items.find((candidate) => candidate.price.id === item.price.id);
      const period = subscriptionItem
        ? { start: subscriptionItem.current_period_start, end: subscriptionItem.current_period_end }
        : { start: now, end: now };
      return subscriptionItem
        ? { price: item.price, quantity: item.quantity, period, subscriptionItem: subscriptionItem.id }
        : { price: item.price, quantity: item.quantity, period };
    }),
  });
  subscription.latest_invoice = invoice.id;
  emitEvent(ctx, 'customer.subscription.created', subscription);
  collectInvoice(ctx, invoice, { chargeNow: true });
  return { subscription, invoice };
}
