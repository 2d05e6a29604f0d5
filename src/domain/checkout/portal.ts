import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import { withCustomer } from '../customers/ensure-customer.js';
import type { RedirectPolicy } from './redirect-urls.js';

/** A Stripe customer portal session for the account's customer (created if missing). */
export async function openPortal(prisma: PrismaClient, stripe: Stripe, instance: TallyInstance, redirects: RedirectPolicy, accountId: string, returnUrl?: string): Promise<{ url: string }> {
  const target = redirects.check('returnUrl', returnUrl, redirects.defaults.portalReturn);
  const session = await withCustomer(prisma, stripe, instance, accountId, (customer) =>
    callStripe('open the customer portal', () => stripe.billingPortal.sessions.create({ customer, return_url: target })),
  );
  return { url: session.url };
}
