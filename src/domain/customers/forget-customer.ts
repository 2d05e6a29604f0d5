import type { PrismaClient } from '../../db/client.js';

/**
 * A customer Stripe no longer has (deleted in the Dashboard: customer.deleted; or unknown to the
 * key in use, found by a checkout) is no longer its account's: its id would mislead whoever reads
 * the account, and the next checkout or portal session makes a new one. A customer no account has
 * (another Tally's, one already replaced) changes nothing.
 */
export async function forgetCustomer(prisma: PrismaClient, customerId: string): Promise<void> {
  await prisma.account.updateMany({
    where: { stripeCustomerId: customerId },
    data: { stripeCustomerId: null, stripeCustomerEmail: null, stripeCustomerName: null },
  });
}
