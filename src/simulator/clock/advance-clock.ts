import { renewSubscription, subscriptionDueAt } from '../billing/renew-subscription.js';
import { expireCheckoutSession } from '../checkout/expire-checkout-session.js';
import type { SimulatorContext } from '../context.js';
import { invalidRequest } from '../http/stripe-error.js';

interface Due {
  time: number;
  run: () => void;
}

/** Moves simulated time forward, doing on the way, in time order, what Stripe would have done. */
export function advanceClock(ctx: SimulatorContext, seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw invalidRequest('seconds must be a non-negative number', 'seconds');
  const target = ctx.clock.now() + Math.floor(seconds);
  for (let next = nextDue(ctx, target); next; next = nextDue(ctx, target)) {
    ctx.clock.moveTo(next.time);
    next.run();
  }
  ctx.clock.moveTo(target);
  return ctx.clock.now();
}

function nextDue(ctx: SimulatorContext, target: number): Due | undefined {
  let next: Due | undefined;
  const consider = (time: number | undefined, run: () => void) => {
    if (time !== undefined && time <= target && (!next || time < next.time)) next = { time, run };
  };
  for (const session of ctx.store.checkoutSessions.values()) {
    if (session.status === 'open') consider(session.expires_at, () => expireCheckoutSession(ctx, session));
  }
  for (const subscription of ctx.store.subscriptions.values()) {
    consider(subscriptionDueAt(subscription), () => renewSubscription(ctx, subscription));
  }
  return next;
}
