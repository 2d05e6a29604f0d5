import type { FastifyBaseLogger } from 'fastify';
import type Stripe from 'stripe';
import type { PrismaClient } from '../../db/client.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import { newId } from '../../lib/ids.js';
import type { Plans } from '../plans/plans.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import { readSubscriptionState, type SubscriptionState } from './read-subscription-state.js';

export type SubscriptionRow = Awaited<ReturnType<PrismaClient['subscription']['findUniqueOrThrow']>>;

/**
 * How a copy of a subscription is dated. An event's payload is Stripe's state at `event.created`: it
 * replaces only strictly older state. A copy fetched from Stripe is at least as new as the event that
 * made Tally fetch it, so it may also replace state of that same second.
 */
export type StateSource = 'event' | 'fetched';

export interface ApplyOutcome {
  row: SubscriptionRow;
  applied: boolean;
}

/** Tally's rows of Stripe subscriptions, written so that an older copy never overwrites a newer one. */
export class SubscriptionRecords {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly plans: Plans,
    private readonly instance: TallyInstance,
    private readonly logger: FastifyBaseLogger,
  ) {}

  find(stripeSubscriptionId: string): Promise<SubscriptionRow | null> {
    return this.prisma.subscription.findUnique({ where: { stripeSubscriptionId } });
  }

  /**
   * The account a subscription Tally has no row of is recorded for; undefined when it is not this
   * Tally's. Tally's own record decides first: Tally sells a plan only on the account's Stripe
   * customer, so a subscription on an account's customer is that account's, whatever its metadata says
   * now (anything holding the Stripe key can edit or remove it), and without Tally's metadata it is
   * when it sells one of Tally's plans (not another product of the merchant's). For a customer no
   * account has, the metadata's tally_account_id, unless that account pays through another customer
   * (the subscription would grant it what someone else's card paid), the subscription is another
   * Tally's (its stamp), or it is unstamped for an account only another database has.
   */
  private async ownerOf(subscription: Stripe.Subscription, state: SubscriptionState, sellsAPlan: boolean): Promise<string | undefined> {
    const named = state.accountId;
    const customerOf = await this.prisma.account.findUnique({ where: { stripeCustomerId: state.stripeCustomerId }, select: { id: true } });
    if (customerOf) {
      if (!named && !sellsAPlan) return undefined;
      if (named && named !== customerOf.id) this.disagrees(state, customerOf.id);
      return customerOf.id;
    }
    if (!named) return undefined;
    if (this.instance.madeElsewhere(subscription.metadata)) {
      this.instance.leaveAlone(subscription);
      return undefined;
    }
    const account = await this.prisma.account.findUnique({ where: { id: named }, select: { stripeCustomerId: true } });
    if (account?.stripeCustomerId) {
      this.disagrees(state, undefined);
      return undefined;
    }
    // Unstamped (sold before Tally stamped, or by another Tally on this Stripe account) for an account
    // only another database has: not this Tally's. Else its every event, and every refund of its
    // invoices, would fail on the foreign key for ever. Accounts are never deleted, so one found here
    // is still there for the create. One stamped by this Tally names an account it made the checkout
    // for: missing, it fails and is retried, as a pack checkout's is (test/stripe/webhooks.test.ts).
    if (!subscription.metadata?.tally_instance && !account) return undefined;
    return named;
  }

  private disagrees(state: SubscriptionState, customerOf: string | undefined): void {
    const fields = { stripeSubscriptionId: state.stripeSubscriptionId, stripeCustomerId: state.stripeCustomerId, namedAccountId: state.accountId };
    if (customerOf) this.logger.warn({ ...fields, accountId: customerOf }, "a subscription's tally_account_id (edited at Stripe?) names another account than the one whose Stripe customer it is on: recorded for the customer's account");
    else this.logger.warn(fields, "a subscription's tally_account_id names an account that pays through another Stripe customer: not recorded, nothing granted");
  }

  /**
   * Records `subscription` as Stripe's state at `at` (unix seconds, Stripe's clock). Undefined for a
   * subscription that is not this Tally's (ownerOf); a row, once written, keeps its account (and wins
   * over another Tally's stamp: it was recorded here, under an earlier instance id).
   */
  async apply(subscription: Stripe.Subscription, at: number, source: StateSource): Promise<ApplyOutcome | undefined> {
    const state = readSubscriptionState(subscription);
    const plan = state.stripePriceId ? await this.plans.forPrice(state.stripePriceId) : undefined;
    const { accountId: _named, ...fields } = state;
    const data = { ...fields, planId: plan?.id ?? null, stateAt: at };
    const existing = await this.find(state.stripeSubscriptionId);
    if (!existing) {
      const accountId = await this.ownerOf(subscription, state, plan !== undefined);
      if (!accountId) return undefined;
      const created = await this.prisma.subscription.create({ data: { id: newId('subscr'), accountId, ...data } }).catch((error) => {
        // Another event about the same subscription created it first: fall through to the guarded update.
        if (isUniqueViolation(error)) return null;
        throw error;
      });
      if (created) return { row: created, applied: true };
    }
    // The guard is in the UPDATE itself, so two writers racing cannot both pass it on stale reads.
    const { count } = await this.prisma.subscription.updateMany({
      where: { stripeSubscriptionId: state.stripeSubscriptionId, stateAt: source === 'event' ? { lt: at } : { lte: at } },
      data,
    });
    return { row: (await this.find(state.stripeSubscriptionId))!, applied: count > 0 };
  }

  /**
   * The one change Tally makes without Stripe's word: a subscription Stripe does not know (made under
   * another key: test mode before live) has nothing there to cancel and can never renew here, so a
   * cancel of it ends it in Tally now, and the account may subscribe again. Dated now, so an older
   * event does not bring it back, and a newer one (the old key back in place) still does.
   */
  async endUnknown(row: SubscriptionRow): Promise<SubscriptionRow> {
    const now = new Date();
    return this.prisma.subscription.update({
      where: { id: row.id },
      data: { status: 'canceled', cancelAtPeriodEnd: false, canceledAt: now, endedAt: now, stateAt: Math.max(row.stateAt, Math.floor(now.getTime() / 1000)) },
    });
  }
}
