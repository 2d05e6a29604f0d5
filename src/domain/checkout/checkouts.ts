import type { Pool } from 'pg';
import type Stripe from 'stripe';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { NotFoundFailure, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe, retrieveFromStripe } from '../../stripe/call-stripe.js';
import { recordCheckouts, type CheckoutState, type RecordedCheckout } from '../../db/checkout-queries.js';
import { Batcher } from '../../lib/batcher.js';
import { recordOpenedCheckout } from './record-opened-checkout.js';
import type { BillPayments } from '../bills/bill-payments.js';
import { withCustomer } from '../customers/ensure-customer.js';
import type { Ledger } from '../ledger/ledger.js';
import { MAX_AMOUNT } from '../ledger/types.js';
import type { Packs } from '../packs/packs.js';
import type { Plans } from '../plans/plans.js';
import type { SubscriptionCheckouts } from '../subscriptions/subscription-checkouts.js';
import type { SubscriptionEvents } from '../subscriptions/subscription-events.js';
import { isPaid, readCheckoutMetadata, type CheckoutMetadata } from './checkout-metadata.js';
import { editedMetadata, purchaseInMetadata, recordedPurchase, withRecordedMetadata, type CheckoutPurchase } from './checkout-purchase.js';
import { RedirectPolicy } from './redirect-urls.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';

export interface PackCheckoutInput {
  accountId: string;
  packId: string;
  quantity: number;
  successUrl?: string;
  cancelUrl?: string;
  allowPromotionCodes?: boolean;
}

/** What the checkout route accepts: a pack, a plan, or the Stripe price of either. */
export interface OpenCheckoutInput {
  accountId: string;
  packId?: string;
  planId?: string;
  priceId?: string;
  mode?: 'payment' | 'subscription';
  quantity?: number;
  successUrl?: string;
  cancelUrl?: string;
  allowPromotionCodes?: boolean;
}

/** The other kinds of checkout, sharing `fulfil` with packs. */
export interface CheckoutKinds {
  plans: Plans;
  subscriptionCheckouts: SubscriptionCheckouts;
  subscriptionEvents: SubscriptionEvents;
  billPayments: BillPayments;
}

/** A checkout as the API shows it: the stored state, with dates as text and fulfilment as a flag. */
export type CheckoutView = Omit<CheckoutState, 'amountTotal' | 'currency' | 'expiresAt' | 'fulfilledAt' | 'kind'> & {
  kind: CheckoutMetadata['tally_kind'];
  expiresAt: string | null;
  fulfilled: boolean;
};

export interface FulfilResult {
  status: 'open' | 'complete' | 'expired';
  fulfilled: boolean;
  /** True only for the call that made the grant. */
  granted: boolean;
  available?: number;
}

type CheckoutRow = Awaited<ReturnType<PrismaClient['checkout']['findUniqueOrThrow']>>;

/** Selling credit packs through Stripe Checkout, and turning paid sessions into grants exactly once. */
export class Checkouts {
  /** Sessions recorded together (a batch of webhook events) share one statement. */
  private readonly records: Batcher<CheckoutState, RecordedCheckout>;

  constructor(
    private readonly prisma: PrismaClient,
    pool: Pool,
    private readonly stripe: Stripe,
    private readonly ledger: Ledger,
    private readonly packs: Packs,
    readonly redirects: RedirectPolicy,
    private readonly instance: TallyInstance,
    private readonly logger: Logger,
    private readonly kinds?: CheckoutKinds,
  ) {
    this.records = new Batcher((checkouts) => recordCheckouts(pool, checkouts), { maxBatch: 256, maxConcurrent: 1 });
  }

  /** Opens the checkout the input names; `priceId` must be the Stripe price of a pack or a plan. */
  async open(input: OpenCheckoutInput, requestKey?: string): Promise<CheckoutView> {
    let { packId, planId } = input;
    if (input.priceId) {
      const pack = await this.prisma.pack.findUnique({ where: { stripePriceId: input.priceId } });
      const plan = pack ? undefined : await this.kinds?.plans.forPrice(input.priceId);
      if (!pack && !plan) throw new ValidationFailure('unknown_price', `Price ${input.priceId} is neither a pack's nor a plan's`, { field: 'priceId' });
      // A plan's earlier price still names its plan (for its subscribers' events), but is no longer sold:
      // the checkout would charge the current price, not the one the request named (as for a pack's).
      if (plan && plan.stripePriceId !== input.priceId) {
        throw new ValidationFailure('unknown_price', `Price ${input.priceId} is no longer sold: plan ${plan.id} sells ${plan.stripePriceId} now`, { field: 'priceId', planId: plan.id, priceId: plan.stripePriceId });
      }
      packId = pack?.id;
      planId = plan?.id;
    }
    const mode = packId ? 'payment' : 'subscription';
    if (input.mode && input.mode !== mode) {
      throw new ValidationFailure('mode_mismatch', `A ${packId ? 'pack' : 'plan'} is bought in ${mode} mode, not ${input.mode}`, { field: 'mode', expected: mode });
    }
    const redirects = { successUrl: input.successUrl, cancelUrl: input.cancelUrl, allowPromotionCodes: input.allowPromotionCodes };
    if (packId) return this.createForPack({ accountId: input.accountId, packId, quantity: input.quantity ?? 1, ...redirects }, requestKey);
    if (!planId || !this.kinds) throw new ValidationFailure('invalid_request', 'One of packId, planId or priceId is required', { fields: ['packId', 'planId', 'priceId'] });
    if ((input.quantity ?? 1) !== 1) throw new ValidationFailure('invalid_request', 'A subscription is for one plan: quantity must be 1', { field: 'quantity' });
    return this.kinds.subscriptionCheckouts.create({ accountId: input.accountId, planId, ...redirects }, requestKey);
  }

  /**
   * Nothing is written before Stripe answers: if Stripe fails, no row is left behind. If the row
   * cannot be written after, the session's metadata still leads its events to the right account.
   */
  async createForPack(input: PackCheckoutInput, requestKey?: string): Promise<CheckoutView> {
    const successUrl = RedirectPolicy.withSessionId(this.redirects.check('successUrl', input.successUrl, this.redirects.defaults.success));
    const cancelUrl = this.redirects.check('cancelUrl', input.cancelUrl, this.redirects.defaults.cancel);
    const pack = await this.packs.row(input.packId);
    if (!pack.active) throw new ValidationFailure('pack_inactive', `Pack ${pack.id} is not on sale`, { packId: pack.id });
    const credits = Number(pack.credits) * input.quantity;
    if (credits > MAX_AMOUNT) {
      // Refused before the customer pays: a grant cannot hold it.
      const most = Math.floor(MAX_AMOUNT / Number(pack.credits));
      throw new ValidationFailure('credits_too_large', `${input.quantity} × ${pack.credits} credits is over ${MAX_AMOUNT}, the most one purchase grants: at most ${most} of pack ${pack.id}`, { field: 'quantity', max: most });
    }
    const metadata: CheckoutMetadata = {
      tally_account_id: input.accountId,
      tally_kind: 'pack',
      tally_credits: String(credits),
      tally_pack_id: pack.id,
      tally_quantity: String(input.quantity),
      ...this.instance.stamp,
    };
    const session = await this.packs.withPrice(pack, ({ stripePriceId }) => withCustomer(this.prisma, this.stripe, this.instance, input.accountId, (customer) => {
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: 'payment',
        customer,
        client_reference_id: input.accountId,
        line_items: [{ price: stripePriceId, quantity: input.quantity }],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { ...metadata },
        payment_intent_data: { metadata: { ...metadata } },
        ...(input.allowPromotionCodes ? { allow_promotion_codes: true } : {}),
      };
      return callStripe('create the checkout session', () =>
        requestKey
          ? this.instance.keyed(`checkout-${requestKey}-${customer}-${stripePriceId}`, params, (idempotencyKey) => this.stripe.checkout.sessions.create(params, { idempotencyKey }))
          : this.stripe.checkout.sessions.create(params),
      );
    }));
    return recordOpenedCheckout(this.prisma, session, { accountId: input.accountId, kind: 'pack', packId: pack.id, quantity: input.quantity, credits: BigInt(credits) });
  }

  async get(id: string): Promise<CheckoutView> {
    const row = await this.prisma.checkout.findUnique({ where: { id } });
    if (!row) throw new NotFoundFailure('checkout_session', id);
    return checkoutView(row);
  }

  /**
   * The public success page's path, which needs no API key: Tally's record first, and Stripe (sync)
   * only for a session Tally recorded and has not settled. So anyone on the internet cannot make
   * Tally call Stripe (and spend its rate limit) for ids it never issued, or again for a session
   * already granted or expired, nor (`mayAskStripe`, the page's limit) for one session without end.
   * A session Stripe made but Tally never recorded (Tally stopped between the two) is not found here;
   * its webhook and the reconciler still grant it.
   */
  async syncRecorded(id: string, mayAskStripe: () => Promise<boolean>): Promise<{ checkout: CheckoutView; paymentStatus: string | null }> {
    const recorded = await this.get(id);
    if (recorded.fulfilled || recorded.status === 'expired' || !(await mayAskStripe())) return { checkout: recorded, paymentStatus: recorded.paymentStatus };
    const { paymentStatus } = await this.sync(id);
    return { checkout: await this.get(id), paymentStatus };
  }

  /** The success page's eager path: asks Stripe, and fulfils through the same guard as the webhook. */
  async sync(id: string): Promise<FulfilResult & { id: string; paymentStatus: string }> {
    const session = await retrieveFromStripe('retrieve the checkout session', () => this.stripe.checkout.sessions.retrieve(id));
    const purchase = session && (await this.purchaseOf(session));
    if (!purchase) throw new NotFoundFailure('checkout_session', id);
    const result = await this.fulfilPurchase(session, purchase, 0);
    return { id, paymentStatus: session.payment_status, ...result };
  }

  /**
   * Grants a paid session's credits once, keyed by the session id, whoever calls first (webhook,
   * redelivery, success page). An unpaid or expired session only updates the record. `at` is Stripe's
   * `created` of the event that carried the session (0 from the success page): it dates the
   * subscription state a subscription-mode session records.
   */
  async fulfil(session: Stripe.Checkout.Session, at = 0): Promise<FulfilResult> {
    const purchase = await this.purchaseOf(session);
    if (!purchase) return { status: statusOf(session), fulfilled: false, granted: false };
    return this.fulfilPurchase(session, purchase, at);
  }

  private async fulfilPurchase(session: Stripe.Checkout.Session, purchase: CheckoutPurchase, at: number): Promise<FulfilResult> {
    if (purchase.kind !== 'pack' && this.kinds) return this.fulfilOther(withRecordedMetadata(session, purchase), purchase, at, this.kinds);
    if (!isPaid(session) || session.mode === 'subscription') {
      const row = await this.record(session, purchase, {});
      return { status: row.status, fulfilled: row.fulfilledAt !== null, granted: false };
    }
    const credits = Number(purchase.credits);
    const grant = credits > 0
      ? await this.ledger.grant({
          accountId: purchase.accountId,
          amount: credits,
          source: `checkout:${session.id}`,
          sourceKey: `checkout:${session.id}`,
          reason: purchase.kind === 'pack' ? `Credit pack ${purchase.packId} x${purchase.quantity}` : `Paid ${purchase.kind}`,
          metadata: { checkoutSessionId: session.id, ...(purchase.packId ? { packId: purchase.packId } : {}) },
        })
      : undefined;
    await this.record(session, purchase, { grantId: grant?.value.grant.id ?? null, fulfilledAt: new Date() });
    return { status: 'complete', fulfilled: true, granted: grant?.value.created ?? false, available: grant?.value.available };
  }

  /**
   * What the session bought, when it is this Tally's. A session Tally recorded is what it recorded
   * when it opened it, whatever the session's metadata says now: anything holding the Stripe key can
   * edit or remove that metadata, and a refund takes back from the account the record names. The
   * metadata is read only for a session Tally has no record of (made before Tally recorded sessions, or
   * a database restored from before it), and only when this Tally made it: stamped by it, not stamped
   * (made before Tally stamped sessions), or the checkout of one of its bills. A session another Tally
   * on the same Stripe account made is none of these: its events change nothing here.
   */
  private async purchaseOf(session: Stripe.Checkout.Session): Promise<CheckoutPurchase | undefined> {
    const row = await this.prisma.checkout.findUnique({ where: { id: session.id } });
    if (row) {
      const purchase = recordedPurchase(row);
      const edited = editedMetadata(session, purchase);
      if (Object.keys(edited).length) this.logger.warn({ checkoutSessionId: session.id, edited }, "a checkout session's metadata at Stripe is not what Tally recorded when it opened it: what Tally recorded is what the session sells");
      return purchase;
    }
    const meta = readCheckoutMetadata(session);
    if (!meta) return undefined;
    if (this.instance.madeElsewhere(session.metadata) && !(await this.prisma.bill.findUnique({ where: { stripeCheckoutSessionId: session.id } }))) {
      this.instance.leaveAlone(session);
      return undefined;
    }
    return purchaseInMetadata(session.id, meta);
  }

  /**
   * Subscriptions and bills grant through their own services, keyed by what they pay for (a
   * subscription period, a bill), so this path, `invoice.paid` and the bill's other checkouts agree.
   * A paid checkout is recorded fulfilled only when its service took the payment: one that pays for
   * nothing it can grant (a subscription's kind on a one-time payment, a subscription none of
   * Tally's) stays unfulfilled, not marked done with no grant.
   */
  private async fulfilOther(session: Stripe.Checkout.Session, purchase: CheckoutPurchase, at: number, kinds: CheckoutKinds): Promise<FulfilResult> {
    const paid = isPaid(session);
    const outcome: OtherOutcome =
      purchase.kind === 'bill'
        ? await this.billOutcome(session, purchase, kinds.billPayments)
        : paid && session.mode === 'subscription'
          ? await kinds.subscriptionEvents.onCheckoutPaid(session, at).then(({ recorded, ...grant }) => ({ ...grant, taken: recorded, purchase }))
          : { taken: false, granted: false, grantId: null, purchase };
    if (paid && !outcome.taken) {
      this.logger.warn({ checkoutSessionId: session.id, kind: purchase.kind, mode: session.mode }, 'a paid checkout that pays for nothing Tally can grant: recorded unfulfilled; refund it in Stripe');
    }
    const row = await this.record(session, outcome.purchase, outcome.taken ? { grantId: outcome.grantId, fulfilledAt: new Date() } : {});
    return { status: row.status, fulfilled: row.fulfilledAt !== null, granted: outcome.granted, available: outcome.available };
  }

  /**
   * A bill's session, and the purchase to record of it: the checkout of the bill it is the checkout
   * of (BillPayments.billOf), for that bill's account and credits, or of no bill. A session whose
   * metadata named a bill it does not pay must not become, once recorded, Tally's word that it does
   * (nor its refund take from the account its metadata named).
   */
  private async billOutcome(session: Stripe.Checkout.Session, purchase: CheckoutPurchase, billPayments: BillPayments): Promise<OtherOutcome> {
    const { bill, ...payment } = await billPayments.onCheckout(session);
    const paidFor = bill ? { billId: bill.id, accountId: bill.accountId, credits: bill.credits ?? 0n } : { billId: null };
    return { ...payment, taken: payment.payment === 'paid', purchase: { ...purchase, ...paidFor } };
  }

  private async record(session: Stripe.Checkout.Session, base: CheckoutPurchase, fulfilment: { grantId?: string | null; fulfilledAt?: Date }) {
    return this.records.submit({
      id: session.id,
      ...base,
      planId: base.planId ?? null,
      billId: base.billId ?? null,
      credits: Number(base.credits),
      amountTotal: session.amount_total,
      currency: session.currency,
      url: session.url,
      expiresAt: new Date(session.expires_at * 1000),
      status: statusOf(session),
      paymentStatus: session.payment_status,
      fulfilledAt: fulfilment.fulfilledAt ?? null,
      grantId: fulfilment.fulfilledAt ? (fulfilment.grantId ?? null) : null,
    });
  }
}

/** What a subscription's or bill's service did with a session, and the purchase to record of it. */
interface OtherOutcome {
  taken: boolean;
  granted: boolean;
  grantId: string | null;
  available?: number;
  purchase: CheckoutPurchase;
}

function statusOf(session: Stripe.Checkout.Session): 'open' | 'complete' | 'expired' {
  return session.status === 'complete' ? 'complete' : session.status === 'expired' ? 'expired' : 'open';
}

export function checkoutView(row: CheckoutRow): CheckoutView {
  return {
    id: row.id,
    accountId: row.accountId,
    // A text column, written only from the session's tally_kind.
    kind: row.kind as CheckoutView['kind'],
    packId: row.packId,
    planId: row.planId,
    billId: row.billId,
    quantity: row.quantity,
    credits: Number(row.credits),
    status: row.status,
    paymentStatus: row.paymentStatus,
    url: row.url,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    fulfilled: row.fulfilledAt !== null,
    grantId: row.grantId,
  };
}
