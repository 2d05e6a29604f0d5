import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { advanceClock } from './clock/advance-clock.js';
import type { SimulatorContext } from './context.js';
import { failureRuleSchema, type FailureInjection } from './http/failure-injection.js';
import { invalidRequest } from './http/stripe-error.js';
import { closeDispute } from './payments/close-dispute.js';
import { getDispute } from './payments/dispute-routes.js';
import { openDispute } from './payments/open-dispute.js';
import { failRefund } from './payments/fail-refund.js';
import { getRefund } from './payments/refund-routes.js';

const advanceBody = z.object({ seconds: z.coerce.number().int().min(0) });
const webhookBody = z.object({ url: z.string().url().optional() });
const openDisputeBody = z.object({ charge: z.string(), amount: z.number().int().min(1).optional() });
const closeDisputeBody = z.object({ won: z.boolean() });

/** `/_simulator/*`: test controls that real Stripe does not have. No API key needed. */
export function controlRoutes(app: FastifyInstance, ctx: SimulatorContext, failures: FailureInjection): void {
  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.infer<T> => {
    const result = schema.safeParse(body ?? {});
    if (!result.success) throw invalidRequest(z.prettifyError(result.error));
    return result.data;
  };

  app.post('/_simulator/fail', async (request) => {
    failures.add(parse(failureRuleSchema, request.body));
    return { ok: true };
  });

  app.get('/_simulator/clock', async () => ({ now: ctx.clock.now() }));

  app.post('/_simulator/clock/advance', async (request) => {
    const { seconds } = parse(advanceBody, request.body);
    return { now: advanceClock(ctx, seconds) };
  });

  app.post('/_simulator/webhook-url', async (request) => {
    const { url } = parse(webhookBody, request.body);
    ctx.delivery.setUrl(url);
    return { url: url ?? null };
  });

  app.post('/_simulator/disputes', async (request) => {
    const { charge, amount } = parse(openDisputeBody, request.body);
    return openDispute(ctx, charge, amount);
  });

  app.post<{ Params: { id: string } }>('/_simulator/disputes/:id/close', async (request) => {
    const { won } = parse(closeDisputeBody, request.body);
    return closeDispute(ctx, getDispute(ctx, request.params.id), won);
  });

  app.post<{ Params: { id: string } }>('/_simulator/refunds/:id/fail', async (request) => failRefund(ctx, getRefund(ctx, request.params.id)));

  app.get('/_simulator/deliveries', async () => ({ pending: ctx.delivery.pendingCount() }));

  app.post('/_simulator/deliveries/flush', async () => {
    await ctx.delivery.flush();
    return { pending: ctx.delivery.pendingCount() };
  });
}
