import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { TallyError } from '../../errors.js';

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The default success, cancel and portal return pages, for a Tally used on its own (a product normally sends its
 * users to its own pages, which call POST /v1/checkout/sessions/{id}/sync with a key).
 */
const checkoutPages: FastifyPluginAsync = async (app) => {
  // The page needs no key and names its session in the URL: loaded in a loop (by anyone who saw the
  // URL), each load would ask Stripe and spend the Stripe account's rate limit, which every checkout
  // shares. So Stripe is asked about one session at most 6 times a minute from here, whoever asks;
  // beyond that the page shows Tally's record (the webhook still grants as soon as Stripe tells).
  const stripeAsks = app.createRateLimit({ max: 6, timeWindow: 60_000, keyGenerator: (request) => `success-page:${sessionIdOf(request)}` });
  app.get('/checkout/success', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const id = sessionIdOf(request);
    reply.type('text/html');
    if (!/^cs_\w+$/.test(id)) return page('Payment', '<p>No checkout session was named.</p>');
    try {
      const mayAskStripe = async () => {
        const asked = await stripeAsks(request);
        return asked.isAllowed || !asked.isExceeded;
      };
      const { checkout, paymentStatus } = await app.checkouts.syncRecorded(id, mayAskStripe);
      if (checkout.fulfilled) return page('Payment received', `<p id="result">${checkout.credits} credits were added to account <b>${escape(checkout.accountId)}</b>.</p>`);
      if (checkout.status === 'expired') return page('Checkout expired', '<p id="result">This checkout expired before it was paid. Nothing was charged.</p>');
      return page('Payment pending', `<p id="result">Stripe has not confirmed the payment yet (${escape(paymentStatus ?? 'unpaid')}). The credits arrive as soon as it does.</p>`);
    } catch (error) {
      if (error instanceof TallyError) return page('Payment', `<p id="result">${escape(error.message)}</p>`);
      throw error;
    }
  });
  app.get('/checkout/cancel', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/html');
    return page('Checkout canceled', '<p id="result">Nothing was charged.</p>');
  });
  // Where the portal returns by default: its customer may have paid, changed plan or canceled there.
  app.get('/portal/return', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/html');
    return page('Billing', '<p id="result">You are back from managing your billing. Any change you made there is being applied.</p>');
  });
};

const sessionIdOf = (request: FastifyRequest) => String((request.query as Record<string, unknown>).session_id ?? '');

export default checkoutPages;
