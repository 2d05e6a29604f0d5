import type { Pool } from 'pg';
import type Stripe from 'stripe';
import { ConflictFailure, NotFoundFailure, ValidationFailure } from '../../errors.js';
import { expireUnknownCheckout } from '../../db/checkout-queries.js';
import type { PrismaClient } from '../../db/client.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import { newId, requestId } from '../../lib/ids.js';
import { callStripe, retrieveFromStripe } from '../../stripe/call-stripe.js';
import { RedirectPolicy } from '../checkout/redirect-urls.js';
import { withCustomer } from '../customers/ensure-customer.js';
import type { BillPayments } from './bill-payments.js';
import { billView, type BillRow, type BillView } from './bill-view.js';
import { checkChargeAmount } from '../../stripe/charge-rules.js';
import { checkCheckoutLifetime, MAX_CHECKOUT_SECONDS } from './checkout-lifetime.js';
import { openBillCheckout } from './open-bill-checkout.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';

export interface BillInput {
  accountId: string;
  name: string;
  description?: string;
  amount: number;
  currency: string;
  credits?: number;
  expiresInSeconds?: number;
  successUrl?: string;
  cancelUrl?: string;
}

/**
 * One-off bills: a custom amount paid through Checkout, its credits granted once. Stripe is asked
 * before anything is written, so a failure leaves no bill behind; the status follows Stripe's events.
 */
export class Bills {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly stripe: Stripe,
    private readonly payments: BillPayments,
    private readonly redirects: RedirectPolicy,
    private readonly instance: TallyInstance,
  ) {}

  /**
   * `requestKey` (the client's Idempotency-Key) and the request fix the bill id: a retry returns the
   * same bill, and the key reused for another request once its record is purged makes another.
   */
  async create(input: BillInput, requestKey?: string): Promise<BillView> {
    checkChargeAmount(input.amount, input.currency);
    const expiresInSeconds = input.expiresInSeconds ?? MAX_CHECKOUT_SECONDS;
    checkCheckoutLifetime(expiresInSeconds);
    const urls = this.urls(input);
    const id = requestKey ? requestId('bill', requestKey, input) : newId('bill');
    const existing = await this.prisma.bill.findUnique({ where: { id } });
    if (existing) return billView(existing);
    const terms = { name: input.name, description: input.description ?? null, amount: input.amount, currency: input.currency, credits: input.credits ?? null };
    const session = await withCustomer(this.prisma, this.stripe, this.instance, input.accountId, (customer) =>
      openBillCheckout(this.stripe, this.instance, { billId: id, attempt: 0, accountId: input.accountId, customer, expiresInSeconds, ...terms, ...urls }),
    );
    const row = await this.prisma
      .$transaction(async (tx) => {
        const bill = await tx.bill.create({
          data: {
            id,
            accountId: input.accountId,
            ...terms,
            credits: terms.credits === null ? null : BigInt(terms.credits),
            expiresInSeconds,
            stripeCheckoutSessionId: session.id,
            url: session.url,
            expiresAt: new Date(session.expires_at * 1000),
          },
        });
        await tx.checkout.create({ data: checkoutRow(bill, session) });
        return bill;
      })
      .catch((error) => {
        if (isUniqueViolation(error)) return null; // the same request, retried concurrently, stored it first
        throw error;
      });
    if (!row) {
      const stored = await this.row(id);
      await this.discard(session, stored);
      return billView(stored);
    }
    return billView(row);
  }

  async get(id: string): Promise<BillView> {
    return billView(await this.row(id));
  }

  /** Newest first (the greater id first among bills made at the same instant); `cursor` is the last bill of the previous page. */
  async listForAccount(accountId: string, limit: number, cursor?: string): Promise<{ data: BillView[]; nextCursor: string | null }> {
    const account = await this.prisma.account.findUnique({ where: { id: accountId } });
    if (!account) throw new NotFoundFailure('account', accountId);
    const after = cursor ? await this.prisma.bill.findFirst({ where: { id: cursor, accountId }, select: { id: true, createdAt: true } }) : null;
    // An unknown cursor (another account's bill, or none) would otherwise read as the end of the list.
    if (cursor && !after) throw new ValidationFailure('invalid_request', 'cursor must be a cursor returned by a previous page of this account', { field: 'querystring.cursor' });
    const rows = await this.prisma.bill.findMany({
      // The bound on createdAt alone lets the index start at the cursor; the OR, which it cannot use, then only breaks the tie.
      where: { accountId, ...(after ? { createdAt: { lte: after.createdAt }, OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { data: page.map(billView), nextCursor: rows.length > limit ? page[page.length - 1].id : null };
  }

  /**
   * Expires the bill's checkout at Stripe, then marks it canceled. A bill paid meanwhile is paid. The
   * mark is guarded by the checkout looked at: a reopen that gave the bill a fresh checkout meanwhile
   * (its url already handed out) is seen, and that checkout is expired in turn, so nothing of a
   * canceled bill can be paid.
   */
  async cancel(id: string): Promise<BillView> {
    for (;;) {
      const bill = await this.row(id);
      if (bill.status === 'canceled') return billView(bill);
      if (bill.status === 'paid') throw paidAlready(bill);
      if (bill.status === 'open') await this.expireCurrentCheckout(bill);
      const { count } = await this.prisma.bill.updateMany({
        where: { id, status: { in: ['open', 'expired'] }, checkoutCount: bill.checkoutCount },
        data: { status: 'canceled', canceledAt: new Date() },
      });
      if (count === 1) return this.get(id);
    }
  }

  private async expireCurrentCheckout(bill: BillRow): Promise<void> {
    const session = await this.currentSession(bill);
    if (session?.status !== 'open') return;
    await callStripe('expire the checkout session', () => this.stripe.checkout.sessions.expire(session.id)).catch(async (error) => {
      // Paid or expired between our look and the expiry: Stripe refuses; a paid bill stays paid.
      if (error?.code !== 'stripe_invalid_request' || (await this.currentSession(bill))?.status === 'open') throw error;
    });
  }

  /** A fresh checkout for a bill whose checkout expired unpaid. */
  async reopen(id: string, expiresInSeconds?: number): Promise<BillView> {
    const bill = await this.row(id);
    if (bill.status === 'paid') throw paidAlready(bill);
    if (bill.status === 'canceled') throw canceledAlready(bill);
    const current = await this.currentSession(bill);
    if (current?.status === 'open') throw new ConflictFailure('bill_checkout_open', `Bill ${id} can still be paid at its checkout until ${bill.expiresAt.toISOString()}`, { billId: id, url: bill.url });
    const lifetime = expiresInSeconds ?? bill.expiresInSeconds;
    checkCheckoutLifetime(lifetime);
    const session = await withCustomer(this.prisma, this.stripe, this.instance, bill.accountId, (customer) =>
      openBillCheckout(this.stripe, this.instance, {
        billId: id, attempt: bill.checkoutCount, accountId: bill.accountId, customer, name: bill.name, description: bill.description,
        amount: bill.amount, currency: bill.currency, credits: bill.credits === null ? null : Number(bill.credits), expiresInSeconds: lifetime,
        ...this.urls({}),
      }),
    );
    const won = await this.prisma.$transaction(async (tx) => {
      // Guarded by the attempt: of two reopens racing, one session becomes the bill's.
      const { count } = await tx.bill.updateMany({
        where: { id, checkoutCount: bill.checkoutCount, status: { in: ['open', 'expired'] } },
        data: { status: 'open', stripeCheckoutSessionId: session.id, url: session.url, expiresAt: new Date(session.expires_at * 1000), checkoutCount: bill.checkoutCount + 1 },
      });
      if (count === 1) await tx.checkout.create({ data: checkoutRow(bill, session) });
      return count === 1;
    });
    const after = await this.row(id);
    if (won) return billView(after);
    await this.discard(session, after);
    if (after.status === 'canceled') throw canceledAlready(after);
    if (after.status === 'paid') throw paidAlready(after);
    return billView(after);
  }

  /**
   * A checkout made for the bill that did not become its own (another create, reopen or cancel got
   * there first): expired at Stripe, so that the bill's own checkout is the only one that can take
   * its money. Stripe's idempotency may have answered the very session that won: that one stays.
   */
  private async discard(session: Stripe.Checkout.Session, bill: BillRow): Promise<void> {
    if (session.id === bill.stripeCheckoutSessionId) return;
    await callStripe('expire a checkout session the bill did not take', () => this.stripe.checkout.sessions.expire(session.id));
  }

  async row(id: string): Promise<BillRow> {
    const row = await this.prisma.bill.findUnique({ where: { id } });
    if (!row) throw new NotFoundFailure('bill', id);
    return row;
  }

  /**
   * Stripe's view of the bill's current checkout; a paid one is recorded on the way (409 bill_paid),
   * and so is one whose asynchronous payment failed (the bill expired: it can be canceled or
   * reopened). One whose payment is still on its way may yet be paid: 409 bill_payment_pending.
   * Undefined when Stripe does not know it (made under another key or account): it can never be
   * paid, so it and the bill are recorded expired, and the bill can be canceled or reopened.
   */
  private async currentSession(bill: BillRow): Promise<Stripe.Checkout.Session | undefined> {
    const session = await retrieveFromStripe('retrieve the checkout session', () => this.stripe.checkout.sessions.retrieve(bill.stripeCheckoutSessionId));
    if (!session) {
      await expireUnknownCheckout(this.pool, bill.stripeCheckoutSessionId);
      return undefined;
    }
    if (session.status === 'complete') {
      const { payment } = await this.payments.onCheckout(session);
      if (payment === 'pending') {
        throw new ConflictFailure('bill_payment_pending', `Bill ${bill.id} has a payment on its way (a bank debit, say): it is paid or can be reopened once the payment succeeds or fails`, { billId: bill.id });
      }
      if (payment !== 'failed') throw paidAlready(bill);
    }
    return session;
  }

  private urls(input: { successUrl?: string; cancelUrl?: string }) {
    return {
      successUrl: RedirectPolicy.withSessionId(this.redirects.check('successUrl', input.successUrl, this.redirects.defaults.success)),
      cancelUrl: this.redirects.check('cancelUrl', input.cancelUrl, this.redirects.defaults.cancel),
    };
  }
}

function checkoutRow(bill: BillRow, session: Stripe.Checkout.Session) {
  return {
    id: session.id,
    accountId: bill.accountId,
    kind: 'bill',
    billId: bill.id,
    quantity: 1,
    credits: bill.credits ?? 0n,
    amountTotal: session.amount_total,
    currency: session.currency,
    url: session.url,
    expiresAt: new Date(session.expires_at * 1000),
  };
}

function paidAlready(bill: BillRow) {
  return new ConflictFailure('bill_paid', `Bill ${bill.id} has been paid`, { billId: bill.id });
}

function canceledAlready(bill: BillRow) {
  return new ConflictFailure('bill_canceled', `Bill ${bill.id} was canceled`, { billId: bill.id });
}
