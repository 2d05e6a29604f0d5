import type { FastifyInstance } from 'fastify';
import { advanceClock } from './clock/advance-clock.js';
import { SimulatedClock } from './clock/simulated-clock.js';
import { completeCheckoutSession, settleBankDebit } from './checkout/complete-checkout-session.js';
import type { SimulatorContext } from './context.js';
import { controlRoutes } from './control-routes.js';
import { WebhookDelivery } from './events/webhook-delivery.js';
import { apiPlugin } from './http/api-plugin.js';
import { buildApp } from './http/build-app.js';
import { FailureInjection, type FailureRule } from './http/failure-injection.js';
import { checkoutPageRoutes } from './pages/checkout-page-routes.js';
import { portalPageRoutes } from './pages/portal-page-routes.js';
import { closeDispute } from './payments/close-dispute.js';
import { getDispute } from './payments/dispute-routes.js';
import { openDispute } from './payments/open-dispute.js';
import { failRefund } from './payments/fail-refund.js';
import { getRefund } from './payments/refund-routes.js';
import { StatePersistence } from './persistence.js';
import { Store } from './store.js';

export interface SimulatorOptions {
  /** `whsec_...`, used to sign events. */
  webhookSecret: string;
  /** Where events are POSTed; may be set later with `setWebhookUrl`. */
  webhookUrl?: string;
  /** Base URL for checkout and portal page links; defaults to the listen address. */
  publicUrl?: string;
  /** Milliseconds between delivery retries. */
  retrySchedule?: number[];
  /** Fastify logger option. */
  logger?: false | object;
  /** A file to keep the simulator's objects in across restarts (StatePersistence); memory only without. */
  stateFile?: string;
}

export interface StripeSimulator {
  app: FastifyInstance;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setWebhookUrl(url: string | undefined): void;
  now(): number;
  advanceClock(seconds: number): Promise<void>;
  pay(sessionId: string, card?: string): Promise<void>;
  /** Pays by card after entering a promotion code worth `amountOff` (a session created with `allow_promotion_codes`, payment mode). */
  payWithPromotionCode(sessionId: string, amountOff: number, card?: string): Promise<void>;
  /** Pays by bank debit: the session completes unpaid until `settleBankDebit`. */
  payByBankDebit(sessionId: string): Promise<void>;
  settleBankDebit(sessionId: string, succeeded: boolean): Promise<void>;
  /** The customer's bank disputes a succeeded charge (`amount` defaults to what was not refunded); returns the `dp_` id. */
  openDispute(chargeId: string, amount?: number): Promise<string>;
  /** Closes a dispute that needs a response as `won` or `lost`. */
  closeDispute(disputeId: string, won: boolean): Promise<void>;
  /** A succeeded refund fails (the card's bank refused it): `refund.failed`, and the money stays with the merchant. */
  failRefund(refundId: string): Promise<void>;
  failNext(rule: FailureRule): void;
  /** Failures added by failNext that no request has met yet. */
  pendingFailures(): number;
  /** Ends the delays of requests waiting on a failNext rule now: each answers as its rule says. */
  endDelays(): void;
  pendingDeliveries(): number;
  flushDeliveries(): Promise<void>;
}

export type { FailureRule };

export const DEFAULT_RETRY_SCHEDULE = [1000, 2000, 5000, 10000, 30000, 60000];

export function createStripeSimulator(options: SimulatorOptions): StripeSimulator {
  let publicUrl = options.publicUrl?.replace(/\/$/, '');
  const ctx: SimulatorContext = {
    store: new Store(),
    clock: new SimulatedClock(),
    delivery: new WebhookDelivery({
      secret: options.webhookSecret,
      url: options.webhookUrl,
      retrySchedule: options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE,
    }),
    publicUrl: () => publicUrl ?? 'http://localhost',
  };
  const failures = new FailureInjection();
  const app = buildApp(options.logger ?? false);
  const persistence = options.stateFile ? new StatePersistence(options.stateFile, ctx.store, ctx.clock) : undefined;
  if (persistence) {
    persistence.load();
    app.addHook('onResponse', async (request) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') persistence.changed();
    });
  }
  void app.register(apiPlugin(ctx, failures));
  controlRoutes(app, ctx, failures);
  checkoutPageRoutes(app, ctx);
  portalPageRoutes(app, ctx);

  const sessionOf = (sessionId: string) => {
    const session = ctx.store.checkoutSessions.get(sessionId);
    if (!session) throw new Error(`No such checkout session: ${sessionId}`);
    return session;
  };

  return {
    app,
    async listen(port = 0, host = '127.0.0.1') {
      const listened = await app.listen({ port, host });
      // Bound to every interface (in a container, say): reached here, and by a browser through the published port, at 127.0.0.1.
      const address = host === '0.0.0.0' || host === '::' ? `http://127.0.0.1:${new URL(listened).port}` : listened;
      publicUrl ??= address;
      return address;
    },
    async close() {
      ctx.delivery.close();
      failures.close();
      await app.close();
      persistence?.save();
    },
    setWebhookUrl: (url) => ctx.delivery.setUrl(url),
    now: () => ctx.clock.now(),
    async advanceClock(seconds) {
      advanceClock(ctx, seconds);
    },
    async pay(sessionId, card = '4242424242424242') {
      const result = completeCheckoutSession(ctx, sessionOf(sessionId), card);
      if (!result.paid) throw new Error(result.message);
    },
    async payWithPromotionCode(sessionId, amountOff, card = '4242424242424242') {
      const result = completeCheckoutSession(ctx, sessionOf(sessionId), card, { promotionCodeAmountOff: amountOff });
      if (!result.paid) throw new Error(result.message);
    },
    async payByBankDebit(sessionId) {
      const result = completeCheckoutSession(ctx, sessionOf(sessionId), '4242424242424242', { bankDebit: true });
      if (!result.paid) throw new Error(result.message);
    },
    async settleBankDebit(sessionId, succeeded) {
      settleBankDebit(ctx, sessionOf(sessionId), succeeded);
    },
    async openDispute(chargeId, amount) {
      return openDispute(ctx, chargeId, amount).id;
    },
    async closeDispute(disputeId, won) {
      closeDispute(ctx, getDispute(ctx, disputeId), won);
    },
    async failRefund(refundId) {
      failRefund(ctx, getRefund(ctx, refundId));
    },
    failNext: (rule) => failures.add(rule),
    pendingFailures: () => failures.pending,
    endDelays: () => failures.close(),
    pendingDeliveries: () => ctx.delivery.pendingCount(),
    flushDeliveries: () => ctx.delivery.flush(),
  };
}
