import type Stripe from 'stripe';
import { hasPinnedShapes } from '../event-api-version.js';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * A paid subscription invoice grants the credits of the period it pays for, once per period whoever
 * asks (checkout completion asks for the first invoice too). A failed payment grants nothing; the
 * subscription's new status is fetched from Stripe. `invoice.payment_succeeded` fires with
 * `invoice.paid` and adds nothing, so it is stored and ignored. An invoice rendered in another API
 * version than the SDK's (the endpoint's) is read again from Stripe, in the SDK's.
 */
export function invoiceHandlers({ subscriptionEvents }: HandlerDeps): EventHandlers {
  const invoiceOf = async (event: Stripe.Event) => {
    const invoice = event.data.object as Stripe.Invoice;
    return hasPinnedShapes(event) ? invoice : subscriptionEvents.retrieveInvoice(invoice.id);
  };
  return {
    'invoice.paid': async (event) => {
      await subscriptionEvents.onInvoicePaid(await invoiceOf(event), event.created);
    },
    'invoice.payment_failed': async (event) => {
      await subscriptionEvents.onInvoicePaymentFailed(await invoiceOf(event), event.created);
    },
  };
}
