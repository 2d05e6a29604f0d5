import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import type { Dispute } from '../stripe-objects.js';

/** The bank's decision: `won` keeps the money with the merchant, `lost` leaves it with the customer. */
export function closeDispute(ctx: SimulatorContext, dispute: Dispute, won: boolean): Dispute {
  if (dispute.status !== 'needs_response') throw invalidRequest(`Dispute ${dispute.id} is already closed as ${dispute.status}.`);
  dispute.status = won ? 'won' : 'lost';
  emitEvent(ctx, 'charge.dispute.closed', dispute);
  return dispute;
}
