import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';

/**
 * Gives the account's Stripe customer the account's email and name when they are not what Tally
 * last gave it (the account changed since), so receipts, invoices, Checkout and the portal show
 * them. Details changed at Stripe (the customer in the portal, the Dashboard) are left as they are
 * until the account's own change. No idempotency key of ours: sending an email back after a change
 * within Stripe's 24 h would otherwise replay the first update and change nothing.
 */
export async function sendCustomerDetails(prisma: PrismaClient, stripe: Stripe, accountId: string, customer: string): Promise<void> {
  const account = await prisma.account.findUnique({ where: { id: accountId } });
  if (!account || account.stripeCustomerId !== customer) return;
  if (account.email === account.stripeCustomerEmail && account.name === account.stripeCustomerName) return;
  // '' clears the field at Stripe.
  await callStripe("update the customer's email and name", () => stripe.customers.update(customer, { email: account.email ?? '', name: account.name ?? '' }));
  await prisma.account.updateMany({
    where: { id: accountId, stripeCustomerId: customer },
    data: { stripeCustomerEmail: account.email, stripeCustomerName: account.name },
  });
}
