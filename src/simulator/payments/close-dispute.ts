import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import type { Dispute } from '../stripe-objects.js';

/**
 * The bank's decision: `won` gives the withdrawn money back to the merchant (`charge.dispute.funds_reinstated`,
 * then `charge.dispute.closed`), `lost` leaves it with the customer (`charge.dispute.closed`).
 */
export function closeDispute(ctx: SimulatorContext, dispute: Dispute, won: boolean): Dispute {
  if (dispute.status !== 'needs_response') throw invalidRequest(`Dispute ${dispute.id} is already closed as ${dispute.status}.`);
  dispute.status = won ? 'won' : 'lost';
  if (won) emitEvent(ctx, 'charge.dispute.funds_reinstated', dispute);
  emitEvent(ctx, 'charge.dispute.closed', dispute);
  return dispute;
}
