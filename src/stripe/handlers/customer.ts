import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/** A customer deleted at Stripe is forgotten by its account (forget-customer.ts). */
export function customerHandlers({ forgetCustomer }: HandlerDeps): EventHandlers {
  return {
    'customer.deleted': (event) => forgetCustomer((event.data.object as Stripe.Customer).id),
  };
}
