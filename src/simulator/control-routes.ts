import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { advanceClock } from './clock/advance-clock.js';
import type { SimulatorContext } from './context.js';
import { failureRuleSchema, type FailureInjection } from './http/failure-injection.js';
import { invalidRequest } from './http/stripe-error.js';

const advanceBody = z.object({ seconds: z.coerce.number().int().min(0) });
const webhookBody = z.object({ url: z.string().url().optional() });

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

  app.get('/_simulator/deliveries', async () => ({ pending: ctx.delivery.pendingCount() }));

  app.post('/_simulator/deliveries/flush', async () => {
    await ctx.delivery.flush();
    return { pending: ctx.delivery.pendingCount() };
  });
}
