import type { SimulatorContext } from '../context.js';
import { newId } from '../ids.js';
import { priceAmount } from '../resources/create-price.js';
import type { BillingReason, Invoice, InvoiceLine, Price, Subscription } from '../stripe-objects.js';

export interface InvoiceLineInput {
  price: Price;
  quantity: number;
  period: { start: number; end: number };
  subscriptionItem?: string;
  /** Overrides price × quantity, for prorations. */
  amount?: number;
  proration?: boolean;
  description?: string;
}

export interface InvoiceInput {
  customer: string;
  billingReason: BillingReason;
  lines: InvoiceLineInput[];
  subscription?: Subscription;
  metadata?: Record<string, string>;
  description?: string | null;
}

/** Creates a finalized (open) invoice; collecting payment is a separate step. */
export function createInvoice(ctx: SimulatorContext, input: InvoiceInput): Invoice {
  const now = ctx.clock.now();
  const id = newId('in_');
  const customer = ctx.store.customers.get(input.customer);
  const lines = input.lines.map((line) => buildLine(ctx, id, line, input.subscription?.id ?? null));
  const total = lines.reduce((sum, line) => sum + line.amount, 0);
  const sequence = customer ? customer.next_invoice_sequence++ : 1;
  const invoice: Invoice = {
    id,
    object: 'invoice',
    account_country: 'US',
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: total,
    attempt_count: 0,
    attempted: false,
    billing_reason: input.billingReason,
    collection_method: 'charge_automatically',
    created: now,
    currency: input.lines[0]?.price.currency ?? 'usd',
    customer: input.customer,
    customer_email: customer?.email ?? null,
    customer_name: customer?.name ?? null,
    description: input.description ?? null,
    due_date: null,
    effective_at: now,
    hosted_invoice_url: `${ctx.publicUrl()}/invoice/${id}`,
    lines: { object: 'list', data: lines, has_more: false, total_count: lines.length, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: { ...input.metadata },
    next_payment_attempt: now,
    number: `${customer?.invoice_prefix ?? 'SIM'}-${String(sequence).padStart(4, '0')}`,
    parent: input.subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: { subscription: input.subscription.id, metadata: { ...input.subscription.metadata } },
        }
      : null,
    period_end: Math.max(...input.lines.map((line) => line.period.end), now),
    period_start: Math.min(...input.lines.map((line) => line.period.start), now),
    status: 'open',
    status_transitions: { finalized_at: now, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: total,
    total,
  };
  ctx.store.invoices.set(id, invoice);
  return invoice;
}

function buildLine(ctx: SimulatorContext, invoiceId: string, line: InvoiceLineInput, subscription: string | null): InvoiceLine {
  const amount = line.amount ?? priceAmount(line.price, line.quantity);
  const productName = ctx.store.products.get(line.price.product)?.name ?? line.price.product;
  return {
    id: newId('il_'),
    object: 'line_item',
    amount,
    currency: line.price.currency,
    description: line.description ?? `${line.quantity} × ${productName}`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: {},
    parent: line.subscriptionItem
      ? {
          type: 'subscription_item_details',
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null, proration: line.proration ?? false, proration_details: null,
            subscription, subscription_item: line.subscriptionItem,
          },
        }
      : null,
    period: { ...line.period },
    pretax_credit_amounts: [],
    pricing: {
      type: 'price_details',
      price_details: { price: line.price.id, product: line.price.product },
      unit_amount_decimal: line.price.unit_amount_decimal,
    },
    quantity: line.quantity,
    subtotal: amount,
    taxes: [],
  };
}
