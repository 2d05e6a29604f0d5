import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { Dispute } from '../stripe-objects.js';
import { getCharge } from './charge-routes.js';

const EVIDENCE_FIELDS = [
  'access_activity_log', 'billing_address', 'cancellation_policy', 'cancellation_policy_disclosure', 'cancellation_rebuttal',
  'customer_communication', 'customer_email_address', 'customer_name', 'customer_purchase_ip', 'customer_signature',
  'duplicate_charge_documentation', 'duplicate_charge_explanation', 'duplicate_charge_id', 'product_description', 'receipt',
  'refund_policy', 'refund_policy_disclosure', 'refund_refusal_explanation', 'service_date', 'service_documentation',
  'shipping_address', 'shipping_carrier', 'shipping_date', 'shipping_documentation', 'shipping_tracking_number',
  'uncategorized_file', 'uncategorized_text',
];
const RESPONSE_WINDOW_SECONDS = 7 * 24 * 3600;

/**
 * What a customer's bank does when it disputes a charge: a card chargeback for fraud that
 * needs a response. Disputes have no API; tests open them. `amount` defaults to what was not refunded.
 * As for a chargeback (not an inquiry), the disputed amount is withdrawn from the merchant at once:
 * `charge.dispute.created`, then `charge.dispute.funds_withdrawn`.
 */
export function openDispute(ctx: SimulatorContext, chargeId: string, amount?: number): Dispute {
  const charge = getCharge(ctx, chargeId, 'charge');
  if (charge.status !== 'succeeded') throw invalidRequest(`Charge ${charge.id} has status ${charge.status}; only succeeded charges can be disputed.`, 'charge');
  if (charge.disputed) throw invalidRequest(`Charge ${charge.id} is already disputed.`, 'charge');
  const disputable = charge.amount - charge.amount_refunded;
  const disputed = amount ?? disputable;
  if (!Number.isInteger(disputed) || disputed < 1 || disputed > disputable) {
    throw invalidRequest(`A dispute on charge ${charge.id} must be for 1 to ${disputable}, not ${disputed}.`, 'amount');
  }
  const now = ctx.clock.now();
  const dispute: Dispute = {
    id: newId('dp_'),
    object: 'dispute',
    amount: disputed,
    balance_transactions: [],
    charge: charge.id,
    created: now,
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: { ...Object.fromEntries(EVIDENCE_FIELDS.map((field) => [field, null])), enhanced_evidence: {} },
    evidence_details: {
      due_by: now + RESPONSE_WINDOW_SECONDS,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: 'fraudulent',
    status: 'needs_response',
  };
  ctx.store.disputes.set(dispute.id, dispute);
  charge.disputed = true;
  emitEvent(ctx, 'charge.dispute.created', dispute);
  emitEvent(ctx, 'charge.dispute.funds_withdrawn', dispute);
  return dispute;
}
