import type Stripe from 'stripe';
import type { Checkouts } from '../../domain/checkout/checkouts.js';
import type { PaymentReversals } from '../../domain/checkout/payment-reversals.js';
import type { SubscriptionEvents } from '../../domain/subscriptions/subscription-events.js';
import { chargeHandlers } from './charge.js';
import { checkoutSessionHandlers } from './checkout-session.js';
import { customerHandlers } from './customer.js';
import { invoiceHandlers } from './invoice.js';
import { subscriptionHandlers } from './subscription.js';

export type EventHandler = (event: Stripe.Event) => Promise<void>;
export type EventHandlers = Record<string, EventHandler>;

export interface HandlerDeps {
  checkouts: Checkouts;
  subscriptionEvents: SubscriptionEvents;
  reversals: PaymentReversals;
  forgetCustomer(customerId: string | undefined): Promise<void>;
}

/** The event types Tally acts on; every other verified event is stored and marked ignored. */
export function eventHandlers(deps: HandlerDeps): EventHandlers {
  return { ...checkoutSessionHandlers(deps), ...invoiceHandlers(deps), ...subscriptionHandlers(deps), ...chargeHandlers(deps), ...customerHandlers(deps) };
}
