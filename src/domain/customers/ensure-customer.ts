import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { NotFoundFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';

/**
 * The account's Stripe customer, created on first need. Two first checkouts racing send Stripe the
 * same idempotency key (derived from this Tally, the account and what we send), so Stripe makes one
 * customer and both get it; the database keeps the first id it is given.
 */
export async function ensureCustomer(prisma: PrismaClient, stripe: Stripe, instance: TallyInstance, accountId: string): Promise<string> {
  const account = await prisma.account.findUnique({ where: { id: accountId } });
  if (!account) throw new NotFoundFailure('account', accountId);
  if (account.stripeCustomerId) return account.stripeCustomerId;
  const params: Stripe.CustomerCreateParams = {
    ...(account.email ? { email: account.email } : {}),
    ...(account.name ? { name: account.name } : {}),
    metadata: { tally_account_id: accountId, ...instance.stamp },
  };
  const key = instance.stripeKey(`customer-${accountId}-${createHash('sha256').update(JSON.stringify(params)).digest('hex').slice(0, 16)}`);
  const customer = await callStripe('create a customer', () => stripe.customers.create(params, { idempotencyKey: key }));
  await prisma.account.updateMany({ where: { id: accountId, stripeCustomerId: null }, data: { stripeCustomerId: customer.id } });
  const saved = await prisma.account.findUniqueOrThrow({ where: { id: accountId } });
  return saved.stripeCustomerId!;
}
