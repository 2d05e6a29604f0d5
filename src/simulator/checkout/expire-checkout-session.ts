import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import type { CheckoutSession } from '../stripe-objects.js';

export function expireCheckoutSession(ctx: SimulatorContext, session: CheckoutSession): CheckoutSession {
  if (session.status !== 'open') {
    throw invalidRequest(
      `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
    );
  }
  session.status = 'expired';
  emitEvent(ctx, 'checkout.session.expired', session);
  return session;
}

/** Sessions past `expires_at` expire the moment anyone looks at them. */
export function expireIfDue(ctx: SimulatorContext, session: CheckoutSession): void {
  if (session.status === 'open' && session.expires_at <= ctx.clock.now()) expireCheckoutSession(ctx, session);
}
