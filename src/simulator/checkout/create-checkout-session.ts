import type { SimulatorContext } from '../context.js';
import { invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import { newMetadata } from '../resources/merge-metadata.js';
import type { CheckoutSession } from '../stripe-objects.js';
import type { CreateSessionParams } from './checkout-session-params.js';
import { buildLineItems } from './build-line-items.js';

const MIN_LIFETIME = 30 * 60;
const MAX_LIFETIME = 24 * 60 * 60;

export function createCheckoutSession(ctx: SimulatorContext, params: CreateSessionParams): CheckoutSession {
  checkModeSpecificParams(params);
  const now = ctx.clock.now();
  const expiresAt = params.expires_at ?? now + MAX_LIFETIME;
  if (expiresAt < now + MIN_LIFETIME) {
    throw invalidRequest('The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.', 'expires_at');
  }
  if (expiresAt > now + MAX_LIFETIME) {
    throw invalidRequest('The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.', 'expires_at');
  }
  if (params.customer && !ctx.store.customers.has(params.customer)) {
    throw invalidRequest(`No such customer: '${params.customer}'`, 'customer', 'resource_missing');
  }
  const id = newId('cs_test_', 58);
  const items = buildLineItems(ctx, params);
  const currency = items[0]?.currency ?? params.currency ?? 'usd';
  const subtotal = items.reduce((sum, item) => sum + item.amount_subtotal, 0);
  // As Stripe since April 2023: ISK stays two-decimal in the API but is charged in whole krónur.
  if (currency === 'isk' && subtotal % 100 !== 0) {
    throw invalidRequest(
      'Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases for more information.',
      undefined,
      'invalid_charge_amount_no_decimal_compatible',
    );
  }
  const session: CheckoutSession = {
    id,
    object: 'checkout.session',
    allow_promotion_codes: params.allow_promotion_codes ?? null,
    amount_subtotal: subtotal,
    amount_total: subtotal,
    cancel_url: params.cancel_url ?? null,
    client_reference_id: params.client_reference_id || null,
    client_secret: params.ui_mode === 'embedded' || params.ui_mode === 'custom' ? `${id}_secret_${newId('', 24)}` : null,
    created: now,
    currency,
    customer: params.customer ?? null,
    customer_creation: params.mode === 'payment' ? (params.customer_creation ?? 'if_required') : null,
    customer_details: null,
    customer_email: params.customer_email ?? null,
    expires_at: expiresAt,
    invoice: null,
    invoice_creation: params.mode === 'payment'
      ? {
          enabled: params.invoice_creation?.enabled ?? false,
          invoice_data: {
            metadata: newMetadata(params.invoice_creation?.invoice_data?.metadata),
            description: params.invoice_creation?.invoice_data?.description ?? null,
            footer: params.invoice_creation?.invoice_data?.footer ?? null,
          },
        }
      : null,
    livemode: false,
    locale: params.locale ?? null,
    metadata: newMetadata(params.metadata),
    mode: params.mode,
    payment_intent: null,
    payment_link: null,
    payment_method_types: ['card'],
    payment_status: 'unpaid',
    setup_intent: null,
    status: 'open',
    submit_type: null,
    subscription: null,
    success_url: params.success_url ?? null,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: params.ui_mode ?? 'hosted',
    url: params.ui_mode === 'embedded' || params.ui_mode === 'custom' ? null : `${ctx.publicUrl()}/checkout/${id}`,
  };
  if (params.return_url) session.return_url = params.return_url;
  ctx.store.checkoutSessions.set(id, session);
  ctx.store.checkoutLineItems.set(id, items);
  ctx.store.checkoutOptions.set(id, {
    paymentIntentMetadata: newMetadata(params.payment_intent_data?.metadata),
    subscriptionMetadata: newMetadata(params.subscription_data?.metadata),
    subscriptionDescription: params.subscription_data?.description ?? null,
  });
  return session;
}

function checkModeSpecificParams(params: CreateSessionParams): void {
  const embedded = params.ui_mode === 'embedded' || params.ui_mode === 'custom';
  if (!embedded && !params.success_url) {
    throw invalidRequest('Missing required param: success_url.', 'success_url', 'parameter_missing');
  }
  if (embedded && params.success_url) {
    throw invalidRequest(`\`success_url\` is not supported when \`ui_mode\` is \`${params.ui_mode}\`; use \`return_url\` instead.`, 'success_url');
  }
  if (!params.line_items || params.line_items.length === 0) {
    throw invalidRequest('Missing required param: line_items.', 'line_items', 'parameter_missing');
  }
  if (params.customer && params.customer_email) {
    throw invalidRequest('You may only specify one of these parameters: customer, customer_email.', 'customer_email');
  }
  const paymentOnly = ['customer_creation', 'payment_intent_data', 'invoice_creation'] as const;
  for (const name of paymentOnly) {
    if (params.mode !== 'payment' && params[name] !== undefined) {
      throw invalidRequest(`You can only pass \`${name}\` in \`payment\` mode.`, name);
    }
  }
  if (params.mode !== 'subscription' && params.subscription_data !== undefined) {
    throw invalidRequest('You can only pass `subscription_data` in `subscription` mode.', 'subscription_data');
  }
}
