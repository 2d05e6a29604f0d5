import { cardProblem, normalizeCard } from '../billing/cards.js';
import { collectInvoice } from '../billing/collect-invoice.js';
import { createInvoice } from '../billing/create-invoice.js';
import { startSubscription } from '../billing/start-subscription.js';
import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { newId } from '../ids.js';
import { createCharge } from '../payments/create-charge.js';
import { settleCharge } from '../payments/settle-charge.js';
import { createCustomer } from '../resources/customer-routes.js';
import type { CheckoutSession, Customer } from '../stripe-objects.js';
import { applyPromotionCode } from './apply-promotion-code.js';
import { expireIfDue } from './expire-checkout-session.js';

export type PaymentResult = { paid: true; session: CheckoutSession } | { paid: false; message: string };

/**
 * What pressing Pay on the checkout page does. A declined card changes nothing. `bankDebit`: the
 * customer pays by a bank debit (an asynchronous payment method): the session completes unpaid, and
 * the money arrives, or not, when `settleBankDebit` says (payment mode only). `promotionCodeAmountOff`:
 * the customer entered a promotion code worth that much (see applyPromotionCode).
 */
export function completeCheckoutSession(
  ctx: SimulatorContext,
  session: CheckoutSession,
  cardInput: string,
  { bankDebit = false, promotionCodeAmountOff }: { bankDebit?: boolean; promotionCodeAmountOff?: number } = {},
): PaymentResult {
  expireIfDue(ctx, session);
  if (session.status !== 'open') {
    return { paid: false, message: `This Checkout Session is ${session.status === 'complete' ? 'already paid' : 'expired'}.` };
  }
  if (bankDebit && session.mode !== 'payment') return { paid: false, message: 'Bank debits are simulated for payment-mode sessions only.' };
  const card = normalizeCard(cardInput);
  const problem = cardProblem(card);
  if (problem) return { paid: false, message: problem };
  const options = ctx.store.checkoutOptions.get(session.id);
  const lineItems = ctx.store.checkoutLineItems.get(session.id) ?? [];
  if (promotionCodeAmountOff !== undefined) {
    const refused = applyPromotionCode(session, lineItems, promotionCodeAmountOff);
    if (refused) return { paid: false, message: refused };
  }

  const customer = resolveCustomer(ctx, session);
  if (customer) ctx.store.cards.set(customer.id, card);
  session.customer = customer?.id ?? null;
  session.customer_details = {
    address: null, business_name: null, individual_name: null, phone: null, tax_exempt: 'none', tax_ids: [],
    email: session.customer_email ?? customer?.email ?? 'customer@example.com',
    name: customer?.name ?? null,
  };
  if (session.mode === 'subscription' && customer) {
    const { subscription, invoice } = startSubscription(ctx, {
      customer: customer.id,
      lineItems,
      metadata: options?.subscriptionMetadata ?? {},
      description: options?.subscriptionDescription ?? null,
    });
    session.subscription = subscription.id;
    session.invoice = invoice.id;
  } else {
    const paymentIntent = newId('pi_');
    session.payment_intent = paymentIntent;
    if (session.amount_total > 0) {
      createCharge(ctx, {
        paymentIntent,
        amount: session.amount_total,
        currency: session.currency,
        customer: session.customer,
        payer: { email: session.customer_details.email, name: session.customer_details.name },
        card,
        bankDebit,
        metadata: options?.paymentIntentMetadata ?? {},
      });
    }
    if (session.invoice_creation?.enabled && customer) {
      const invoice = createInvoice(ctx, {
        customer: customer.id,
        billingReason: 'manual',
        metadata: session.invoice_creation.invoice_data.metadata ?? {},
        description: session.invoice_creation.invoice_data.description,
        lines: lineItems.map((item) => ({ price: item.price, quantity: item.quantity, period: { start: session.created, end: session.created } })),
      });
      // The session's own payment intent paid for the invoice; collecting it must not charge again.
      collectInvoice(ctx, invoice, { paidBy: paymentIntent });
      session.invoice = invoice.id;
    }
  }
  session.status = 'complete';
  session.payment_status = session.amount_total > 0 ? (bankDebit ? 'unpaid' : 'paid') : 'no_payment_required';
  emitEvent(ctx, 'checkout.session.completed', session);
  return { paid: true, session };
}

/**
 * The bank's answer to a debit in flight, as Stripe reports it: the session becomes paid and
 * `checkout.session.async_payment_succeeded` is sent, or it stays unpaid and
 * `checkout.session.async_payment_failed` is sent.
 */
export function settleBankDebit(ctx: SimulatorContext, session: CheckoutSession, succeeded: boolean): void {
  settleCharge(ctx, session.payment_intent, succeeded);
  if (succeeded) session.payment_status = 'paid';
  emitEvent(ctx, succeeded ? 'checkout.session.async_payment_succeeded' : 'checkout.session.async_payment_failed', session);
}

/** Subscriptions always need a customer; payments create one only when asked to. */
function resolveCustomer(ctx: SimulatorContext, session: CheckoutSession): Customer | undefined {
  if (session.customer) return ctx.store.customers.get(session.customer);
  if (session.mode === 'payment' && session.customer_creation !== 'always') return undefined;
  const email = session.customer_email ?? 'customer@example.com';
  return createCustomer(ctx, { email });
}

export function successRedirect(session: CheckoutSession): string {
  return (session.success_url ?? session.return_url ?? '/').replaceAll('{CHECKOUT_SESSION_ID}', session.id);
}
