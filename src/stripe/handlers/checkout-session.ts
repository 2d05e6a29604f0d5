import type Stripe from 'stripe';
import type { EventHandlers, HandlerDeps } from './index.js';

/**
 * All four Checkout Session events lead to the same fulfil: it grants a paid session once and
 * records an unpaid, failed or expired one. Order does not matter: `async_payment_succeeded`
 * arriving before `completed` grants, and `completed` then finds it granted.
 */
export function checkoutSessionHandlers({ checkouts }: HandlerDeps): EventHandlers {
  const fulfil = async (event: Stripe.Event) => {
    await checkouts.fulfil(event.data.object as Stripe.Checkout.Session, event.created);
  };
  return {
    'checkout.session.completed': fulfil,
    'checkout.session.async_payment_succeeded': fulfil,
    'checkout.session.async_payment_failed': fulfil,
    'checkout.session.expired': fulfil,
  };
}
