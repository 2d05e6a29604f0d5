import type { SimulatorContext } from '../context.js';
import { newId } from '../ids.js';
import { createCharge } from '../payments/create-charge.js';
import type { Invoice, InvoicePayment } from '../stripe-objects.js';
import { DEFAULT_CARD } from './cards.js';

/**
 * The money behind an invoice just paid: its PaymentIntent's Charge to the customer's saved card,
 * and the InvoicePayment that links the two. `paidBy` is a payment intent that already took the
 * money (a payment-mode Checkout Session's), which must not be charged a second time.
 */
export function recordInvoicePayment(ctx: SimulatorContext, invoice: Invoice, paidBy?: string): InvoicePayment {
  const now = ctx.clock.now();
  let paymentIntent = paidBy;
  if (paymentIntent === undefined) {
    paymentIntent = newId('pi_');
    createCharge(ctx, {
      paymentIntent,
      amount: invoice.amount_paid,
      currency: invoice.currency,
      customer: invoice.customer,
      payer: { email: invoice.customer_email, name: invoice.customer_name },
      card: ctx.store.cards.get(invoice.customer) ?? DEFAULT_CARD,
      bankDebit: false,
      metadata: {},
    });
  }
  const payment: InvoicePayment = {
    id: newId('inpay_'),
    object: 'invoice_payment',
    amount_paid: invoice.amount_paid,
    amount_requested: invoice.amount_due,
    created: now,
    currency: invoice.currency,
    invoice: invoice.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: paymentIntent },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: now },
  };
  ctx.store.invoicePayments.set(payment.id, payment);
  return payment;
}
