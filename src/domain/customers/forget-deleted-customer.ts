import type { PrismaClient } from '../../db/client.js';

/**
 * A customer deleted at Stripe (the Dashboard) is no longer the account's: its id would mislead
 * whoever reads the account, and the next checkout or portal session makes a new one. A customer
 * no account has (another Tally's, one already replaced) changes nothing.
 */
export async function forgetDeletedCustomer(prisma: PrismaClient, customerId: string): Promise<void> {
  await prisma.account.updateMany({
    where: { stripeCustomerId: customerId },
    data: { stripeCustomerId: null, stripeCustomerEmail: null, stripeCustomerName: null },
  });
}
