import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { cardProblem, normalizeCard } from './cards.js';
import { collectInvoice } from './collect-invoice.js';

/**
 * Saves a new card and retries the customer's open invoices with it at once, standing in for
 * Stripe's smart retries; a subscription with nothing left unpaid becomes active again.
 */
export function updateDefaultCard(ctx: SimulatorContext, customerId: string, input: string): string | undefined {
  const card = normalizeCard(input);
  const problem = cardProblem(card);
  if (problem) return problem;
  ctx.store.cards.set(customerId, card);
  const open = [...ctx.store.invoices.values()].filter((invoice) => invoice.customer === customerId && invoice.status === 'open');
  for (const invoice of open) collectInvoice(ctx, invoice);
  for (const subscription of ctx.store.subscriptions.values()) {
    if (subscription.customer !== customerId || subscription.status !== 'past_due') continue;
    const unpaid = [...ctx.store.invoices.values()].some(
      (invoice) => invoice.status === 'open' && invoice.parent?.subscription_details.subscription === subscription.id,
    );
    if (unpaid) continue;
    subscription.status = 'active';
    emitEvent(ctx, 'customer.subscription.updated', subscription, { status: 'past_due' });
  }
  return undefined;
}
