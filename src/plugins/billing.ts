import fp from 'fastify-plugin';
import type Stripe from 'stripe';
import { BillPayments } from '../domain/bills/bill-payments.js';
import { Bills } from '../domain/bills/bills.js';
import { Checkouts } from '../domain/checkout/checkouts.js';
import { PaymentReversals } from '../domain/checkout/payment-reversals.js';
import { reconcileOpenCheckouts } from '../domain/checkout/reconcile-open-checkouts.js';
import { reconcileRefunds } from '../domain/checkout/reconcile-refunds.js';
import { openPortal } from '../domain/checkout/portal.js';
import { RedirectPolicy } from '../domain/checkout/redirect-urls.js';
import { forgetCustomer } from '../domain/customers/forget-customer.js';
import { sendCustomerDetails } from '../domain/customers/send-customer-details.js';
import { Packs } from '../domain/packs/packs.js';
import { Plans } from '../domain/plans/plans.js';
import { reconcileRenewals } from '../domain/subscriptions/reconcile-renewals.js';
import { SubscriptionCheckouts } from '../domain/subscriptions/subscription-checkouts.js';
import { SubscriptionEvents } from '../domain/subscriptions/subscription-events.js';
import { SubscriptionRecords } from '../domain/subscriptions/subscription-records.js';
import { Subscriptions } from '../domain/subscriptions/subscriptions.js';
import { StripeEventProcessor } from '../stripe/event-processor.js';
import { eventHandlers } from '../stripe/handlers/index.js';
import { reconcileEvents } from '../stripe/reconcile-events.js';
import { startReconciler } from '../stripe/reconciler.js';

declare module 'fastify' {
  interface FastifyInstance {
    stripe: Stripe;
    webhookSecret: string;
    packs: Packs;
    plans: Plans;
    subscriptions: Subscriptions;
    subscriptionEvents: SubscriptionEvents;
    bills: Bills;
    checkouts: Checkouts;
    reversals: PaymentReversals;
    stripeEvents: StripeEventProcessor;
    openPortal(accountId: string, returnUrl?: string): Promise<{ url: string }>;
  }
}

export interface BillingOptions {
  stripe: Stripe;
  webhookSecret: string;
  /** Tally's own base URL: the default redirect pages live there. */
  publicUrl: string;
}

/** Everything that talks to Stripe: packs, plans, subscriptions, bills, checkout, portal, and the processing of Stripe's events. */
export default fp<BillingOptions>(
  async (app, { stripe, webhookSecret, publicUrl }) => {
    const config = app.config;
    const origins = config.TALLY_REDIRECT_ORIGINS ? config.TALLY_REDIRECT_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean) : defaultOrigins(publicUrl);
    const redirects = new RedirectPolicy(origins, {
      success: config.CHECKOUT_SUCCESS_URL ?? `${publicUrl}/checkout/success?session_id={CHECKOUT_SESSION_ID}`,
      cancel: config.CHECKOUT_CANCEL_URL ?? `${publicUrl}/checkout/cancel`,
      portalReturn: config.PORTAL_RETURN_URL ?? `${publicUrl}/portal/return`,
    });
    const instance = app.instance;
    const packs = new Packs(app.db.prisma, stripe, instance, app.log);
    const plans = new Plans(app.db.prisma, stripe, instance, app.log);
    const subscriptionEvents = new SubscriptionEvents(app.db.prisma, stripe, app.ledger, plans, new SubscriptionRecords(app.db.prisma, plans, instance, app.log));
    const subscriptions = new Subscriptions(app.db.prisma, stripe, plans, subscriptionEvents, instance);
    const subscriptionCheckouts = new SubscriptionCheckouts(app.db.prisma, stripe, plans, subscriptions, redirects, instance);
    const billPayments = new BillPayments(app.db.prisma, stripe, app.ledger, app.log);
    const bills = new Bills(app.db.prisma, app.db.pool, stripe, billPayments, redirects, instance);
    const checkouts = new Checkouts(app.db.prisma, app.db.pool, stripe, app.ledger, packs, redirects, instance, app.log, { plans, subscriptionCheckouts, subscriptionEvents, billPayments });
    const reversals = new PaymentReversals(app.db.prisma, stripe, app.ledger, checkouts, subscriptionEvents, app.log);
    const processor = new StripeEventProcessor(app.db.pool, eventHandlers({ checkouts, subscriptionEvents, reversals, forgetCustomer: (id) => forgetCustomer(app.db.prisma, id, app.log) }), app.log);
    app.decorate('stripe', stripe);
    app.decorate('webhookSecret', webhookSecret);
    app.decorate('packs', packs);
    app.decorate('plans', plans);
    app.decorate('subscriptions', subscriptions);
    app.decorate('subscriptionEvents', subscriptionEvents);
    app.decorate('bills', bills);
    app.decorate('checkouts', checkouts);
    app.decorate('reversals', reversals);
    app.decorate('stripeEvents', processor);
    // Not waited for, by the PUT (Stripe may take its timeout and retries) nor by a closing app: a
    // send cut short is made again by the account's next checkout or portal session.
    app.accounts.sendCustomerDetailsWith((account) => {
      sendCustomerDetails(app.db.prisma, stripe, account).then(
        () => app.log.info({ accountId: account.id }, "sent the account's email and name to its Stripe customer"),
        (error) => {
          // Its code only: Stripe's message may quote the email ("Invalid email address: ...").
          app.log.warn({ accountId: account.id, code: error?.code, stripeCode: error?.details?.stripeCode }, "the account's new email or name did not reach its Stripe customer: its next checkout or portal session sends it");
        },
      );
    });
    app.decorate('openPortal', (accountId: string, returnUrl?: string) => openPortal(app.db.prisma, stripe, instance, redirects, accountId, returnUrl));
    processor.start(config.WEBHOOK_RETRY_INTERVAL_MS);
    const reconcile = { olderThanSeconds: config.CHECKOUT_RECONCILE_AFTER_SECONDS, batch: config.CHECKOUT_RECONCILE_BATCH };
    const stopReconciler = startReconciler(
      [
        { name: 'checkout reconciliation', run: (stopping) => reconcileOpenCheckouts({ pool: app.db.pool, checkouts, logger: app.log }, { ...reconcile, stopping }) },
        { name: 'renewal reconciliation', run: (stopping) => reconcileRenewals({ pool: app.db.pool, prisma: app.db.prisma, stripe, subscriptionEvents, logger: app.log }, { ...reconcile, stopping }) },
        { name: 'refund reconciliation', run: (stopping) => reconcileRefunds({ pool: app.db.pool, stripe, reversals, logger: app.log }, { ...reconcile, stopping }) },
        { name: 'event reconciliation', run: (stopping) => reconcileEvents({ pool: app.db.pool, stripe, events: processor, logger: app.log }, { ...reconcile, stopping }) },
      ],
      config.CHECKOUT_RECONCILE_INTERVAL_MS,
      app.log,
    );
    app.addHook('onClose', async () => {
      await stopReconciler();
      await processor.stop();
    });
  },
  { name: 'billing', dependencies: ['services'] },
);

/** Tally's own origin, under both names a local browser may use for it. */
function defaultOrigins(publicUrl: string): string[] {
  const url = new URL(publicUrl);
  const origins = [url.origin];
  if (url.hostname === 'localhost' || url.hostname === '127.0.0.1') {
    for (const host of ['localhost', '127.0.0.1']) origins.push(`${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`);
  }
  return origins;
}
