import type Stripe from 'stripe';
import { ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import type { CheckoutMetadata } from '../checkout/checkout-metadata.js';
import type { CheckoutView } from '../checkout/checkouts.js';
import { recordOpenedCheckout } from '../checkout/record-opened-checkout.js';
import { RedirectPolicy } from '../checkout/redirect-urls.js';
import { withCustomer } from '../customers/ensure-customer.js';
import type { Plans } from '../plans/plans.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import type { Subscriptions } from './subscriptions.js';
import { supersedeOpenCheckouts } from './supersede-open-checkouts.js';

export interface PlanCheckoutInput {
  accountId: string;
  planId: string;
  successUrl?: string;
  cancelUrl?: string;
  allowPromotionCodes?: boolean;
}

/**
 * Subscription-mode Checkout for a plan. As for packs, nothing is written before Stripe answers; the
 * account's older open subscription checkouts are then expired, so only one can be paid.
 */
export class SubscriptionCheckouts {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly plans: Plans,
    private readonly subscriptions: Subscriptions,
    private readonly redirects: RedirectPolicy,
    private readonly instance: TallyInstance,
  ) {}

  async create(input: PlanCheckoutInput, requestKey?: string): Promise<CheckoutView> {
    const successUrl = RedirectPolicy.withSessionId(this.redirects.check('successUrl', input.successUrl, this.redirects.defaults.success));
    const cancelUrl = this.redirects.check('cancelUrl', input.cancelUrl, this.redirects.defaults.cancel);
    const plan = await this.plans.row(input.planId);
    if (!plan.active) throw new ValidationFailure('plan_inactive', `Plan ${plan.id} is not on sale`, { planId: plan.id });
    await this.subscriptions.assertNoLiveSubscription(input.accountId);
    const metadata: CheckoutMetadata = {
      tally_account_id: input.accountId,
      tally_kind: 'subscription',
      tally_credits: String(plan.credits),
      tally_plan_id: plan.id,
      ...this.instance.stamp,
    };
    const session = await this.plans.withPrice(plan, ({ stripePriceId }) => withCustomer(this.prisma, this.stripe, this.instance, input.accountId, async (customer) => {
      await this.subscriptions.assertNoLiveSubscription(input.accountId, customer);
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: 'subscription',
        customer,
        client_reference_id: input.accountId,
        line_items: [{ price: stripePriceId, quantity: 1 }],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata: { ...metadata },
        // The subscription, and through it every invoice, leads back to the account.
        subscription_data: { metadata: { tally_account_id: input.accountId, tally_plan_id: plan.id, ...this.instance.stamp } },
        ...(input.allowPromotionCodes ? { allow_promotion_codes: true } : {}),
      };
      return callStripe('create the checkout session', () =>
        requestKey
          ? this.instance.keyed(`checkout-${requestKey}-${customer}-${stripePriceId}`, params, (idempotencyKey) => this.stripe.checkout.sessions.create(params, { idempotencyKey }))
          : this.stripe.checkout.sessions.create(params),
      );
    }));
    const opened = await recordOpenedCheckout(this.prisma, session, { accountId: input.accountId, kind: 'subscription', planId: plan.id, quantity: 1, credits: plan.credits });
    // Recorded first, then older open ones are expired: of two racing creates, the newest wins.
    await supersedeOpenCheckouts({ prisma: this.prisma, stripe: this.stripe, subscriptions: this.subscriptions }, opened);
    return opened;
  }
}
