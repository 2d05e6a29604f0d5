import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';

/** What an account's row says of its details and of what its Stripe customer was last given. */
export interface CustomerDetails {
  id: string;
  email: string | null;
  name: string | null;
  stripeCustomerId: string | null;
  stripeCustomerEmail: string | null;
  stripeCustomerName: string | null;
}

/**
 * Gives the account's Stripe customer the account's email and name when they are not what Tally
 * last gave it (the account changed since), so receipts, invoices, Checkout and the portal show
 * them. Details changed at Stripe (the customer in the portal, the Dashboard) are left as they are
 * until the account's own change. No idempotency key of ours: sending an email back after a change
 * within Stripe's 24 h would otherwise replay the first update and change nothing. `account` is the
 * row as just read or written by the caller.
 */
export async function sendCustomerDetails(prisma: PrismaClient, stripe: Stripe, account: CustomerDetails): Promise<void> {
  const customer = account.stripeCustomerId;
  if (!customer) return;
  if (account.email === account.stripeCustomerEmail && account.name === account.stripeCustomerName) return;
  // '' clears the field at Stripe.
  await callStripe("update the customer's email and name", () => stripe.customers.update(customer, { email: account.email ?? '', name: account.name ?? '' }));
  await prisma.account.updateMany({
    where: { id: account.id, stripeCustomerId: customer },
    data: { stripeCustomerEmail: account.email, stripeCustomerName: account.name },
  });
}
