import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import type { Invoice } from '../stripe-objects.js';
import { canChargeLater } from './cards.js';
import { recordInvoicePayment } from './record-invoice-payment.js';

export interface CollectOptions {
  /** The customer just confirmed the charge on the checkout page, so it goes through whatever the card does later. */
  chargeNow?: boolean;
  /** A payment intent that already took the money (a payment-mode session's): no second charge. */
  paidBy?: string | undefined;
}

/** Charges an open invoice to the customer's saved card and fires the matching events. */
export function collectInvoice(ctx: SimulatorContext, invoice: Invoice, { chargeNow = false, paidBy }: CollectOptions = {}): boolean {
  if (invoice.status !== 'open') return invoice.status === 'paid';
  const now = ctx.clock.now();
  const card = ctx.store.cards.get(invoice.customer);
  const succeeds = invoice.amount_due === 0 || chargeNow || paidBy !== undefined || canChargeLater(card);
  if (invoice.amount_due > 0) {
    invoice.attempted = true;
    invoice.attempt_count += 1;
  }
  if (succeeds) {
    invoice.status = 'paid';
    invoice.amount_paid = invoice.amount_due;
    invoice.amount_remaining = 0;
    invoice.next_payment_attempt = null;
    invoice.status_transitions.paid_at = now;
    // Before the events, so that whoever reacts to them can already find the charge.
    if (invoice.amount_paid > 0) recordInvoicePayment(ctx, invoice, paidBy);
    emitEvent(ctx, 'invoice.paid', invoice);
    emitEvent(ctx, 'invoice.payment_succeeded', invoice);
    return true;
  }
  // Stripe's smart retries would try again later; the simulator retries when the card changes.
  invoice.next_payment_attempt = null;
  emitEvent(ctx, 'invoice.payment_failed', invoice);
  return false;
}
