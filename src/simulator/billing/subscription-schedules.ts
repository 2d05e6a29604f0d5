import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SimulatorContext } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { expandObject } from '../http/expand.js';
import { bool, expand, metadata, str } from '../http/form-schemas.js';
import { parseParams } from '../http/parse-params.js';
import { found, invalidRequest } from '../http/stripe-error.js';
import { newId } from '../ids.js';
import type { Subscription, SubscriptionSchedule } from '../stripe-objects.js';

/*
 * Subscription schedules, as far as Tally meets them: a merchant (the portal's "downgrade at period
 * end", the Dashboard) puts an existing subscription under a schedule, and from then on Stripe refuses
 * to change the subscription's cancellation directly. Only `from_subscription` is simulated; phases
 * are recorded, not run.
 */

const createParams = z.strictObject({ from_subscription: str, metadata: metadata.optional(), expand });
const releaseParams = z.strictObject({ preserve_cancel_date: bool.optional(), expand });
const retrieveParams = z.strictObject({ expand });
type WithId = { Params: { id: string } };

function scheduleFrom(ctx: SimulatorContext, subscription: Subscription, meta: Record<string, string>): SubscriptionSchedule {
  if (subscription.status === 'canceled') throw invalidRequest(`You cannot migrate a canceled subscription: '${subscription.id}'`, 'from_subscription');
  if (subscription.schedule) {
    throw invalidRequest(`You cannot migrate a subscription that is already attached to a schedule: \`${subscription.schedule}\`.`, 'from_subscription');
  }
  const item = subscription.items.data[0];
  const phase = { start_date: item?.current_period_start ?? subscription.start_date, end_date: item?.current_period_end ?? subscription.start_date };
  return {
    id: newId('sub_sched_'),
    object: 'subscription_schedule',
    canceled_at: null,
    completed_at: null,
    created: ctx.clock.now(),
    current_phase: phase,
    customer: subscription.customer,
    end_behavior: 'release',
    livemode: false,
    metadata: { ...meta },
    phases: [{ ...phase, items: subscription.items.data.map((i) => ({ price: i.price.id, quantity: i.quantity, metadata: {} })), proration_behavior: 'create_prorations' }],
    released_at: null,
    released_subscription: null,
    status: 'active',
    subscription: subscription.id,
    test_clock: null,
  };
}

/** The subscription is canceled: its schedule, if any, ends with it. */
export function endSchedule(ctx: SimulatorContext, subscription: Subscription, status: 'canceled'): void {
  const schedule = subscription.schedule ? ctx.store.subscriptionSchedules.get(subscription.schedule) : undefined;
  if (!schedule) return;
  schedule.status = status;
  schedule.canceled_at = ctx.clock.now();
  schedule.current_phase = null;
  emitEvent(ctx, 'subscription_schedule.canceled', schedule);
}

export function subscriptionScheduleRoutes(app: FastifyInstance, ctx: SimulatorContext): void {
  app.post('/v1/subscription_schedules', async (request) => {
    const params = parseParams(createParams, request.body);
    const subscription = found(ctx.store.subscriptions, 'subscription', params.from_subscription, 'from_subscription');
    const schedule = scheduleFrom(ctx, subscription, params.metadata ?? {});
    ctx.store.subscriptionSchedules.set(schedule.id, schedule);
    subscription.schedule = schedule.id;
    emitEvent(ctx, 'subscription_schedule.created', schedule);
    return expandObject(ctx.store, schedule, params.expand);
  });

  app.get<WithId>('/v1/subscription_schedules/:id', async (request) => {
    const params = parseParams(retrieveParams, request.query);
    return expandObject(ctx.store, found(ctx.store.subscriptionSchedules, 'subscription schedule', request.params.id), params.expand);
  });

  // Stops the schedule and leaves the subscription as it is, free of it.
  app.post<WithId>('/v1/subscription_schedules/:id/release', async (request) => {
    const params = parseParams(releaseParams, request.body ?? {});
    const schedule = found(ctx.store.subscriptionSchedules, 'subscription schedule', request.params.id);
    if (schedule.status !== 'active' && schedule.status !== 'not_started') {
      throw invalidRequest(`You cannot release a subscription schedule that is currently in the \`${schedule.status}\` status. It must be in either the \`not_started\` or \`active\` status.`);
    }
    const subscription = schedule.subscription ? ctx.store.subscriptions.get(schedule.subscription) : undefined;
    if (subscription) subscription.schedule = null;
    Object.assign(schedule, { status: 'released', released_at: ctx.clock.now(), released_subscription: schedule.subscription, subscription: null, current_phase: null });
    emitEvent(ctx, 'subscription_schedule.released', schedule);
    return expandObject(ctx.store, schedule, params.expand);
  });
}
