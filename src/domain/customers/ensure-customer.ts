import type Stripe from 'stripe';
import { NotFoundFailure, StripeRefusedFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe, isMissingStripeObject } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import { forgetCustomer } from './forget-customer.js';
import { sendCustomerDetails, type CustomerDetails } from './send-customer-details.js';

/**
 * Runs `use` (a checkout, a portal session) with the account's Stripe customer. A customer Stripe
 * does not know (deleted in the Dashboard, or made under another key: test mode before live, the
 * built-in simulator before a restart) would fail every checkout of the account for good: it is
 * forgotten and made again, and `use` runs once more with the new one. An email or name the account
 * changed since Stripe was last told is sent first.
 */
export async function withCustomer<T>(prisma: PrismaClient, stripe: Stripe, instance: TallyInstance, accountId: string, use: (customer: string) => Promise<T>): Promise<T> {
  const account = await ensureCustomer(prisma, stripe, instance, accountId);
  const customer = account.stripeCustomerId!;
  try {
    await sendCustomerDetails(prisma, stripe, account).catch((error: unknown) => {
      // Details Stripe refuses (an email it finds invalid) do not stop the account paying: the customer
      // keeps those it has, and they are sent again next time. A customer Stripe does not know is made again.
      if (!(error instanceof StripeRefusedFailure) || isMissingStripeObject(error, 'customer')) throw error;
    });
    return await use(customer);
  } catch (error) {
    if (!isMissingStripeObject(error, 'customer')) throw error;
    await forgetCustomer(prisma, customer);
    return use((await ensureCustomer(prisma, stripe, instance, accountId, customer)).stripeCustomerId!);
  }
}

/**
 * The account with its Stripe customer, created on first need. Two first checkouts racing send Stripe the
 * same idempotency key (derived from this Tally, the account, what we send and the customer it
 * replaces), so Stripe makes one customer and both get it; the database keeps the first id it is given.
 */
async function ensureCustomer(prisma: PrismaClient, stripe: Stripe, instance: TallyInstance, accountId: string, replacing?: string): Promise<CustomerDetails> {
  const account = await prisma.account.findUnique({ where: { id: accountId } });
  if (!account) throw new NotFoundFailure('account', accountId);
  if (account.stripeCustomerId) return account;
  const params: Stripe.CustomerCreateParams = {
    ...(account.email ? { email: account.email } : {}),
    ...(account.name ? { name: account.name } : {}),
    metadata: { tally_account_id: accountId, ...instance.stamp },
  };
  const customer = await callStripe('create a customer', () =>
    instance.keyed(`customer-${accountId}`, [params, replacing ?? null], (idempotencyKey) => stripe.customers.create(params, { idempotencyKey })),
  );
  // With what it was made with: a change the account had meanwhile is then sent (sendCustomerDetails).
  await prisma.account.updateMany({
    where: { id: accountId, stripeCustomerId: null },
    data: { stripeCustomerId: customer.id, stripeCustomerEmail: account.email, stripeCustomerName: account.name },
  });
  return prisma.account.findUniqueOrThrow({ where: { id: accountId } });
}
