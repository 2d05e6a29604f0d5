import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { checkoutView, type CheckoutView } from './checkouts.js';

export interface OpenedCheckout {
  accountId: string;
  kind: 'pack' | 'subscription';
  packId?: string;
  planId?: string;
  quantity: number;
  credits: bigint;
}

/**
 * Records a Checkout Session Stripe has just made. Written only after Stripe answered, so a Stripe
 * failure leaves nothing; if an event about the session got here first, its record is kept.
 */
export async function recordOpenedCheckout(prisma: PrismaClient, session: Stripe.Checkout.Session, opened: OpenedCheckout): Promise<CheckoutView> {
  const row = await prisma.checkout.upsert({
    where: { id: session.id },
    create: {
      id: session.id,
      ...opened,
      amountTotal: session.amount_total,
      currency: session.currency,
      url: session.url,
      expiresAt: new Date(session.expires_at * 1000),
    },
    update: {},
  });
  return checkoutView(row);
}
