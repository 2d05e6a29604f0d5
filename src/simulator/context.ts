import type { SimulatedClock } from './clock/simulated-clock.js';
import type { WebhookDelivery } from './events/webhook-delivery.js';
import type { Store } from './store.js';

/** What every route and billing step works with. */
export interface SimulatorContext {
  store: Store;
  clock: SimulatedClock;
  delivery: WebhookDelivery;
  publicUrl(): string;
}
