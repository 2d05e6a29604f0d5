import type {
  Charge, CheckoutLineItem, Metadata, CheckoutSession, Customer, Dispute, Invoice, InvoicePayment, PortalSession, Price, Product,
  Refund, StripeEvent, Subscription, SubscriptionSchedule,
} from './stripe-objects.js';

/** What a Checkout Session passes on to the objects it creates when paid. */
export interface CheckoutOptions {
  paymentIntentMetadata: Metadata;
  subscriptionMetadata: Metadata;
  subscriptionDescription: string | null;
}

/** Everything the simulator knows, in memory; Maps keep creation order, which lists rely on. */
export class Store {
  readonly customers = new Map<string, Customer>();
  /** Customers deleted (DELETE /v1/customers/:id): a retrieve still answers them, as deleted. */
  readonly deletedCustomers = new Set<string>();
  readonly products = new Map<string, Product>();
  readonly prices = new Map<string, Price>();
  readonly checkoutSessions = new Map<string, CheckoutSession>();
  readonly checkoutLineItems = new Map<string, CheckoutLineItem[]>();
  readonly checkoutOptions = new Map<string, CheckoutOptions>();
  readonly portalSessions = new Map<string, PortalSession>();
  readonly subscriptions = new Map<string, Subscription>();
  readonly subscriptionSchedules = new Map<string, SubscriptionSchedule>();
  readonly invoices = new Map<string, Invoice>();
  readonly invoicePayments = new Map<string, InvoicePayment>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  readonly events = new Map<string, StripeEvent>();
  /** The card number each customer pays with; it decides whether renewals succeed. */
  readonly cards = new Map<string, string>();

  /** Finds any object by id, for `expand`. */
  find(id: string): object | undefined {
    for (const map of [
      this.customers, this.products, this.prices, this.checkoutSessions, this.portalSessions,
      this.subscriptions, this.subscriptionSchedules, this.invoices, this.invoicePayments, this.charges, this.refunds, this.disputes, this.events,
    ] as Map<string, object>[]) {
      const found = map.get(id);
      if (found) return found;
    }
    return undefined;
  }
}
