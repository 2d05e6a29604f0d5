import type { SimulatorContext } from '../context.js';
import { newId } from '../ids.js';
import type { Charge, ChargeOutcome, ChargePaymentMethodDetails, ChargeStatus, Metadata } from '../stripe-objects.js';

export interface ChargeInput {
  paymentIntent: string;
  amount: number;
  currency: string;
  customer: string | null;
  /** Who paid, for `billing_details`. */
  payer: { email: string | null; name: string | null };
  card: string;
  /** A bank debit starts `pending` and is settled later; a card succeeds at once. */
  bankDebit: boolean;
  metadata: Metadata;
}

/** The Charge behind a PaymentIntent: a paid payment-mode Checkout Session's, or a paid invoice's. */
export function createCharge(ctx: SimulatorContext, input: ChargeInput): Charge {
  const status: ChargeStatus = input.bankDebit ? 'pending' : 'succeeded';
  const charge: Charge = {
    id: newId('ch_'),
    object: 'charge',
    amount: input.amount,
    amount_captured: input.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: input.payer.email,
      name: input.payer.name,
      phone: null,
      tax_id: null,
    },
    calculated_statement_descriptor: null,
    captured: true,
    created: ctx.clock.now(),
    currency: input.currency,
    customer: input.customer,
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: { ...input.metadata },
    on_behalf_of: null,
    outcome: chargeOutcome(status),
    paid: status === 'succeeded',
    payment_intent: input.paymentIntent,
    payment_method: newId('pm_'),
    payment_method_details: input.bankDebit ? bankDebitDetails() : cardDetails(input.card),
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status,
    transfer_data: null,
    transfer_group: null,
  };
  ctx.store.charges.set(charge.id, charge);
  return charge;
}

/** A pending bank debit has no outcome yet. */
export function chargeOutcome(status: ChargeStatus): ChargeOutcome | null {
  if (status === 'pending') return null;
  const succeeded = status === 'succeeded';
  return {
    advice_code: null,
    network_advice_code: null,
    network_decline_code: null,
    network_status: succeeded ? 'approved_by_network' : 'declined_by_network',
    reason: succeeded ? null : 'insufficient_funds',
    risk_level: 'normal',
    seller_message: succeeded ? 'Payment complete.' : 'The bank returned the debit.',
    type: succeeded ? 'authorized' : 'issuer_declined',
  };
}

function cardDetails(card: string): ChargePaymentMethodDetails {
  return {
    type: 'card',
    card: { brand: 'visa', country: 'US', exp_month: 12, exp_year: 2034, funding: 'credit', last4: card.slice(-4), network: 'visa' },
  };
}

function bankDebitDetails(): ChargePaymentMethodDetails {
  return {
    type: 'us_bank_account',
    us_bank_account: { account_holder_type: 'individual', account_type: 'checking', bank_name: 'STRIPE TEST BANK', last4: '6789', routing_number: '110000000' },
  };
}
