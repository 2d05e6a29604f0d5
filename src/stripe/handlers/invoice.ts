import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * A paid subscription invoice grants the credits of the period it pays for, once per period whoever
 * asks (checkout completion asks for the first invoice too). A failed payment grants nothing; the
 * subscription's new status is fetched from Stripe. `invoice.payment_succeeded` fires with
 * `invoice.paid` and adds nothing, so it is stored and ignored.
 */
export function invoiceHandlers({ subscriptionEvents }: HandlerDeps): EventHandlers {
  return {
    'invoice.paid': async (event) => {
      await subscriptionEvents.onInvoicePaid(event.data.object as Stripe.Invoice, event.created);
    },
    'invoice.payment_failed': async (event) => {
      await subscriptionEvents.onInvoicePaymentFailed(event.data.object as Stripe.Invoice, event.created);
    },
  };
}
