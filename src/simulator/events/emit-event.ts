import { newId } from '../ids.js';
import type { SimulatorContext } from '../context.js';
import type { StripeEvent } from '../stripe-objects.js';

export const API_VERSION = '2026-10-28.endive';

/** Records an event with a snapshot of `object` and hands it to delivery. */
export function emitEvent(
  ctx: SimulatorContext, type: string, object: object, previousAttributes?: Record<string, unknown>,
): StripeEvent {
  const event: StripeEvent = {
    id: newId('evt_'),
    object: 'event',
    api_version: API_VERSION,
    created: ctx.clock.now(),
    data: previousAttributes
      ? { object: structuredClone(object), previous_attributes: structuredClone(previousAttributes) }
      : { object: structuredClone(object) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
  ctx.store.events.set(event.id, event);
  ctx.delivery.enqueue(event);
  return event;
}
