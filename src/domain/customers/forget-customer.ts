import type { FastifyBaseLogger as Logger } from 'fastify';
import type { PrismaClient } from '../../db/client.js';

/**
 * A customer Stripe no longer has (deleted in the Dashboard: customer.deleted; or unknown to the
 * key in use, found by a checkout) is no longer its account's: its id would mislead whoever reads
 * the account, and the next checkout or portal session makes a new one. A customer no account has
 * (another Tally's, one already replaced) changes nothing, and neither does a signed event whose
 * object carries no id: Prisma reads an undefined filter as no filter, so that updateMany would
 * forget every account's customer.
 */
export async function forgetCustomer(prisma: PrismaClient, customerId: string | undefined, logger?: Logger): Promise<void> {
  if (typeof customerId !== 'string' || customerId === '') {
    logger?.warn({ customerId: customerId ?? null }, 'a deleted Stripe customer without an id: no account forgets its customer');
    return;
  }
  await prisma.account.updateMany({
    where: { stripeCustomerId: customerId },
    data: { stripeCustomerId: null, stripeCustomerEmail: null, stripeCustomerName: null },
  });
}
