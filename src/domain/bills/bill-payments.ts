import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import { isPaid, readCheckoutMetadata } from '../checkout/checkout-metadata.js';
import type { Ledger } from '../ledger/ledger.js';
import type { BillRow } from './bill-view.js';
import { MAX_CHECKOUT_SECONDS } from './checkout-lifetime.js';

export interface BillPayment {
  granted: boolean;
  grantId: string | null;
  available?: number;
  /**
   * The payment of the session: `pending` for one complete with an asynchronous payment (a bank
   * debit) still on its way, `failed` for one whose asynchronous payment failed; `none` for a
   * session not complete (or not a bill's).
   */
  payment: 'paid' | 'pending' | 'failed' | 'none';
  /** The bill the session is the checkout of (billOf), which its record names; null for none. */
  bill: Pick<BillRow, 'id' | 'accountId' | 'credits'> | null;
}

/**
 * Whether a session is one Tally would have made for the bill: the bill's whole amount, in its
 * currency (a bill's checkout takes no promotion code), for its account. A session made with the
 * Stripe key for $1, its metadata naming a $9,000 bill, is not.
 */
function paysFor(session: Stripe.Checkout.Session, bill: BillRow): boolean {
  return session.amount_total === bill.amount && session.currency === bill.currency && readCheckoutMetadata(session)?.tally_account_id === bill.accountId;
}

/** What a bill's Checkout Sessions do to it: paid grants once; expired, or its payment failed, expires. */
export class BillPayments {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly ledger: Ledger,
    private readonly logger: Logger,
  ) {}

  /**
   * Any Checkout Session event of a bill (webhook, success page, reconciler, cancel and reopen): a
   * paid session grants the credits of the bill it is the checkout of (billOf) once, keyed by the
   * bill; one expired, or complete with its asynchronous payment failed (it can never be paid),
   * expires the bill if it is still the bill's current checkout (a reopened bill ignores its old
   * session): the bill can then be reopened or canceled. Nothing is granted or marked paid before
   * the money is there.
   */
  async onCheckout(session: Stripe.Checkout.Session): Promise<BillPayment> {
    const bill = await this.billOf(session);
    if (!bill) return { granted: false, grantId: null, payment: 'none', bill: null };
    if (isPaid(session)) {
      const credits = bill.credits === null ? 0 : Number(bill.credits);
      const grant = credits > 0
        ? await this.ledger.grant({
            accountId: bill.accountId,
            amount: credits,
            source: `bill:${bill.id}`,
            sourceKey: `bill:${bill.id}`,
            reason: `Bill: ${bill.name}`,
            metadata: { billId: bill.id, checkoutSessionId: session.id },
          })
        : undefined;
      await this.prisma.bill.updateMany({
        where: { id: bill.id, status: { not: 'paid' } },
        data: { status: 'paid', paidAt: new Date(), grantId: grant?.value.grant.id ?? null },
      });
      // The session answers for the grant only when its payment made it: the refund of a second
      // payment of the bill then takes nothing back (payment-reversals.ts reads the checkout's grant).
      const bought = grant && (grant.value.created || (await this.grantMadeBy(grant.value.grant.id)) === session.id) ? grant : undefined;
      if (grant && !bought) {
        this.logger.warn({ billId: bill.id, checkoutSessionId: session.id, grantId: grant.value.grant.id }, 'a bill already paid was paid again at another checkout: this payment bought nothing; refund it in Stripe');
      }
      return { granted: bought?.value.created ?? false, grantId: bought?.value.grant.id ?? null, available: grant?.value.available, payment: 'paid', bill };
    }
    const payment = session.status === 'complete' ? ((await this.asyncPaymentFailed(session)) ? 'failed' : 'pending') : 'none';
    if (session.status === 'expired' || payment === 'failed') {
      await this.prisma.bill.updateMany({ where: { id: bill.id, status: 'open', stripeCheckoutSessionId: session.id }, data: { status: 'expired' } });
    }
    return { granted: false, grantId: null, payment, bill };
  }

  /**
   * The bill the session is the checkout of, by Tally's records: the bill whose checkout it is, or was
   * (a reopened bill's earlier sessions stay in `checkouts`). Metadata can be edited at Stripe by
   * anything holding the key, so its tally_bill_id decides only for a session Tally never recorded (a
   * checkout that lost a race to become the bill's, or one whose bill row was never written), and
   * only when the session is one Tally would have made for that bill (paysFor).
   */
  private async billOf(session: Stripe.Checkout.Session): Promise<BillRow | undefined> {
    const named = readCheckoutMetadata(session)?.tally_bill_id;
    const current = await this.prisma.bill.findUnique({ where: { stripeCheckoutSessionId: session.id } });
    const checkout = current ? null : await this.prisma.checkout.findUnique({ where: { id: session.id }, select: { bill: true } });
    const recorded = current ?? checkout?.bill;
    if (recorded) {
      if (named !== recorded.id) this.disagrees(session, recorded.id, named);
      return recorded;
    }
    if (checkout) {
      if (named) this.disagrees(session, null, named);
      return undefined;
    }
    if (!named) return undefined;
    const bill = await this.prisma.bill.findUnique({ where: { id: named } });
    if (!bill) return this.restore(session, named);
    if (paysFor(session, bill)) return bill;
    this.logger.warn(
      { checkoutSessionId: session.id, billId: bill.id, amount: session.amount_total, currency: session.currency, accountId: readCheckoutMetadata(session)?.tally_account_id ?? null },
      "a checkout session Tally never recorded names a bill in its tally_bill_id, but not for the bill's amount, currency and account: it pays no bill; refund it in Stripe",
    );
    return undefined;
  }

  private disagrees(session: Stripe.Checkout.Session, billId: string | null, namedBillId: string | undefined): void {
    this.logger.warn(
      { checkoutSessionId: session.id, billId, namedBillId: namedBillId ?? null },
      billId
        ? "a checkout session's tally_bill_id (edited at Stripe?) names another bill than the one it is the checkout of: only its own bill is paid"
        : "a checkout session Tally recorded as no bill's names a bill in its tally_bill_id (edited at Stripe?): no bill is paid",
    );
  }

  /** The Checkout Session whose payment made a bill's grant (its metadata, written once with it). */
  private async grantMadeBy(grantId: string): Promise<unknown> {
    const grant = await this.prisma.grant.findUnique({ where: { id: grantId }, select: { metadata: true } });
    const metadata = grant?.metadata;
    return metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? metadata.checkoutSessionId : undefined;
  }

  /**
   * Whether the asynchronous payment of a session complete and unpaid failed. Stripe leaves such a
   * session as it was (complete, unpaid) whether the money is still on its way or will never come;
   * its payment's charge tells: `pending`, or `failed`.
   */
  private async asyncPaymentFailed(session: Stripe.Checkout.Session): Promise<boolean> {
    const paymentIntent = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
    if (!paymentIntent) return false;
    const charges = await callStripe('list the charges of a payment', () => this.stripe.charges.list({ payment_intent: paymentIntent, limit: 1 }));
    return charges.data[0]?.status === 'failed';
  }

  /** The session was made but the bill row never written (the database failed after Stripe answered). */
  private async restore(session: Stripe.Checkout.Session, billId: string): Promise<BillRow> {
    const meta = session.metadata ?? {};
    const credits = Number(meta.tally_credits ?? 0);
    await this.prisma.bill.createMany({
      data: [{
        id: billId,
        accountId: meta.tally_account_id!,
        name: meta.tally_bill_name || billId,
        amount: session.amount_total ?? 0,
        currency: session.currency ?? 'usd',
        credits: credits > 0 ? BigInt(credits) : null,
        expiresInSeconds: MAX_CHECKOUT_SECONDS,
        stripeCheckoutSessionId: session.id,
        url: session.url,
        expiresAt: new Date(session.expires_at * 1000),
      }],
      skipDuplicates: true,
    });
    return this.prisma.bill.findUniqueOrThrow({ where: { id: billId } });
  }
}
