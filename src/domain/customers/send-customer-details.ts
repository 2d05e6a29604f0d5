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

type Details = Pick<CustomerDetails, 'email' | 'name'>;

/**
 * The fields of `sending` that differ from what was `sent`, as Stripe takes them ('' clears one);
 * undefined when none does. A field the account did not change is not sent: the customer may have
 * changed it at Stripe (its email in the portal), and a change of the account's name leaves that be.
 */
function changedFields(sent: Details, sending: Details): Stripe.CustomerUpdateParams | undefined {
  const changes: Stripe.CustomerUpdateParams = {};
  if (sending.email !== sent.email) changes.email = sending.email ?? '';
  if (sending.name !== sent.name) changes.name = sending.name ?? '';
  return Object.keys(changes).length > 0 ? changes : undefined;
}

/** Sends after which a send stops while the account keeps changing under it. */
const MOST_SENDS = 5;

/**
 * Gives the account's Stripe customer the account's email and name when they are not what Tally
 * last gave it (the account changed since), so receipts, invoices, Checkout and the portal show
 * them; each field only when the account's own changed. Details changed at Stripe (the customer in
 * the portal, the Dashboard) are left as they are until the account's own change of that field. No idempotency key of ours: sending an email back after a change
 * within Stripe's 24 h would otherwise replay the first update and change nothing. `account` is the
 * row as just read or written by the caller.
 *
 * Two changes close together send at once, and Stripe takes them in the order they reach it, which
 * may not be the order they were made in. So what was sent is recorded only while the account still
 * has it; when it changed meanwhile, this send may have reached Stripe after the newer one's, and the
 * account's details as they are now are sent again. Stripe then ends with the newest.
 */
export async function sendCustomerDetails(prisma: PrismaClient, stripe: Stripe, account: CustomerDetails): Promise<void> {
  const customer = account.stripeCustomerId;
  if (!customer) return;
  let sent: Details = { email: account.stripeCustomerEmail, name: account.stripeCustomerName };
  let sending: Details = { email: account.email, name: account.name };
  for (let sends = 1; ; sends++) {
    const changes = changedFields(sent, sending);
    if (!changes) return;
    await callStripe("update the customer's email and name", () => stripe.customers.update(customer, changes));
    const recorded = await prisma.account.updateMany({
      where: { id: account.id, stripeCustomerId: customer, email: sending.email, name: sending.name },
      data: { stripeCustomerEmail: sending.email, stripeCustomerName: sending.name },
    });
    if (recorded.count === 1) return;
    // Stripe may now hold what was just sent, whatever a newer send recorded: say so, so that if the
    // send below fails, the next checkout or portal session sends the account's details again.
    await prisma.account.updateMany({ where: { id: account.id, stripeCustomerId: customer }, data: { stripeCustomerEmail: sending.email, stripeCustomerName: sending.name } });
    const now = await prisma.account.findUnique({ where: { id: account.id } });
    // Its customer forgotten or replaced meanwhile: the new one is made with the account's details.
    // Or the account keeps changing: its changes send too, and the record above makes the next
    // checkout or portal session send again.
    if (!now || now.stripeCustomerId !== customer || sends === MOST_SENDS) return;
    sent = sending;
    sending = { email: now.email, name: now.name };
  }
}
