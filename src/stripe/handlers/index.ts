import type Stripe from 'stripe';
import type { Checkouts } from '../../domain/checkout/checkouts.js';
import { checkoutSessionHandlers } from './checkout-session.js';

export type EventHandler = (event: Stripe.Event) => Promise<void>;
export type EventHandlers = Record<string, EventHandler>;

export interface HandlerDeps {
  checkouts: Checkouts;
}

/** The event types Tally acts on; every other verified event is stored and marked ignored. */
export function eventHandlers(deps: HandlerDeps): EventHandlers {
  return { ...checkoutSessionHandlers(deps) };
}
