import type { SimulatorContext } from '../context.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import { priceAmount } from '../resources/create-price.js';
import type { Price, Subscription, SubscriptionItem } from '../stripe-objects.js';
import { addIntervals } from './add-interval.js';
import { collectInvoice } from './collect-invoice.js';
import { createInvoice, type InvoiceLineInput } from './create-invoice.js';

export interface ItemChange {
  id?: string | undefined;
  price?: string | undefined;
  quantity?: number | undefined;
  deleted?: boolean | undefined;
  metadata?: Record<string, string> | null | undefined;
}
export type ProrationBehavior = 'create_prorations' | 'none' | 'always_invoice';

/**
 * Applies item changes and returns the previous attributes. A new billing interval restarts
 * the period and is invoiced at once; otherwise only `always_invoice` charges the prorated
 * difference now (pending prorations for the next invoice are not simulated).
 */
export function changeItems(
  ctx: SimulatorContext, subscription: Subscription, changes: ItemChange[], proration: ProrationBehavior,
): Record<string, unknown> {
  const now = ctx.clock.now();
  const previous: Record<string, unknown> = { items: structuredClone(subscription.items) };
  const oldItems = structuredClone(subscription.items.data);
  const items = [...subscription.items.data];
  changes.forEach((change, index) => {
    const param = `items[${index}]`;
    const existing = change.id ? items.find((item) => item.id === change.id) : undefined;
    if (change.id && !existing) throw invalidRequest(`No such subscription item: '${change.id}'`, `${param}[id]`, 'resource_missing');
    if (existing && change.deleted) return void items.splice(items.indexOf(existing), 1);
    const price = change.price ? recurringPrice(ctx, change.price, subscription, `${param}[price]`) : undefined;
    if (existing) {
      if (price) existing.price = price;
      if (change.quantity !== undefined) existing.quantity = change.quantity;
      return;
    }
    if (!price) throw invalidRequest(`Missing required param: ${param}[price].`, `${param}[price]`, 'parameter_missing');
    const first = items[0];
    items.push({
      id: newId('si_', 14), object: 'subscription_item', created: now,
      current_period_start: first?.current_period_start ?? now, current_period_end: first?.current_period_end ?? now,
      discounts: [], metadata: {}, price, quantity: change.quantity ?? 1, subscription: subscription.id, tax_rates: [],
    });
  });
  if (items.length === 0) throw invalidRequest('A subscription must have at least one active plan.', 'items');
  subscription.items.data = items;
  subscription.items.total_count = items.length;

  const intervalChanged = items.some((item) => intervalOf(item) !== intervalOf(oldItems[0] ?? item));
  const lines = intervalChanged ? restartPeriod(subscription, now) : prorate(oldItems, items, now, proration);
  if (lines.length > 0) {
    const invoice = createInvoice(ctx, { customer: subscription.customer, billingReason: 'subscription_update', subscription, lines });
    previous.latest_invoice = subscription.latest_invoice;
    subscription.latest_invoice = invoice.id;
    if (!collectInvoice(ctx, invoice) && subscription.status !== 'past_due') {
      previous.status = subscription.status;
      subscription.status = 'past_due';
    }
  }
  return previous;
}

function recurringPrice(ctx: SimulatorContext, id: string, subscription: Subscription, param: string): Price {
  const price = ctx.store.prices.get(id);
  if (!price) throw invalidRequest(`No such price: '${id}'`, param, 'resource_missing');
  if (!price.active) throw invalidRequest('The price specified is inactive. This field only accepts active prices.', param);
  if (!price.recurring) throw invalidRequest('The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.', param);
  if (price.currency !== subscription.currency) throw invalidRequest(`The price specified uses currency \`${price.currency}\`, but this subscription uses \`${subscription.currency}\`.`, param);
  return price;
}

const intervalOf = (item: SubscriptionItem) => `${item.price.recurring?.interval}/${item.price.recurring?.interval_count}`;

function restartPeriod(subscription: Subscription, now: number): InvoiceLineInput[] {
  subscription.billing_cycle_anchor = now;
  return subscription.items.data.map((item) => {
    const { interval, interval_count: count } = item.price.recurring!;
    item.current_period_start = now;
    item.current_period_end = addIntervals(now, interval, count);
    return { price: item.price, quantity: item.quantity, period: { start: now, end: item.current_period_end }, subscriptionItem: item.id };
  });
}

/**
 * As Stripe prorates a changed item: a credit line for the unused time on the old price (negative)
 * and a line for the remaining time on the new one, both over the rest of the period. Only a change
 * that costs more is invoiced (a credit to the customer's balance is not simulated).
 */
function prorate(oldItems: SubscriptionItem[], items: SubscriptionItem[], now: number, proration: ProrationBehavior): InvoiceLineInput[] {
  if (proration !== 'always_invoice') return [];
  const lines: InvoiceLineInput[] = [];
  const after = new Date(now * 1000).toISOString().slice(0, 10);
  for (const item of items) {
    const before = oldItems.find((old) => old.id === item.id);
    const length = item.current_period_end - item.current_period_start;
    const remaining = length > 0 ? (item.current_period_end - now) / length : 0;
    const unused = before ? Math.round(priceAmount(before.price, before.quantity) * remaining) : 0;
    const amount = Math.round(priceAmount(item.price, item.quantity) * remaining);
    if (amount - unused <= 0) continue;
    const period = { start: now, end: item.current_period_end };
    if (before && unused > 0) {
      lines.push({
        price: before.price, quantity: before.quantity, amount: -unused, proration: true, subscriptionItem: item.id, period,
        description: `Unused time on ${before.quantity} × price ${before.price.id} after ${after}`,
      });
    }
    lines.push({
      price: item.price, quantity: item.quantity, amount, proration: true, subscriptionItem: item.id, period,
      description: `Remaining time on ${item.quantity} × price ${item.price.id} after ${after}`,
    });
  }
  return lines;
}
