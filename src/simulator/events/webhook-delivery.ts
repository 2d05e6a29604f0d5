import Stripe from 'stripe';
import type { StripeEvent } from '../stripe-objects.js';

export interface WebhookDeliveryOptions {
  secret: string;
  url?: string | undefined;
  retrySchedule: number[];
  timeoutMs?: number;
}

interface Pending {
  event: StripeEvent;
  failures: number;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<void>;
}

/**
 * Delivers events at least once and in no particular order: every event has its own
 * attempt loop, and anything but a 2xx is retried along the schedule.
 */
export class WebhookDelivery {
  private url: string | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: WebhookDeliveryOptions) {
    this.url = options.url;
  }

  enqueue(event: StripeEvent): void {
    const entry: Pending = { event, failures: 0 };
    this.pending.set(event.id, entry);
    void this.attempt(entry);
  }

  setUrl(url: string | undefined): void {
    this.url = url;
    for (const entry of this.pending.values()) {
      const waitingForUrl = entry.failures === 0 && !entry.timer && !entry.inFlight;
      if (waitingForUrl) void this.attempt(entry);
    }
  }

  isPending(eventId: string): boolean {
    return this.pending.has(eventId);
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /** Attempts every unacknowledged event now, including those whose schedule ran out. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending.values()].map((entry) => entry.inFlight));
    await Promise.all(
      [...this.pending.values()].map((entry) => {
        clearTimeout(entry.timer);
        delete entry.timer;
        return this.attempt(entry);
      }),
    );
  }

  close(): void {
    this.closed = true;
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    for (const controller of this.aborts) controller.abort();
  }

  private attempt(entry: Pending): Promise<void> {
    if (this.closed || !this.url) return Promise.resolve();
    entry.inFlight ??= this.post(entry, this.url).finally(() => {
      delete entry.inFlight;
    });
    return entry.inFlight;
  }

  private async post(entry: Pending, url: string): Promise<void> {
    const payload = JSON.stringify(entry.event, null, 2);
    // Signed with wall-clock time: receivers check it against their own clock, not the simulated one.
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: this.options.secret,
      timestamp: Math.floor(Date.now() / 1000),
    });
    const controller = new AbortController();
    this.aborts.add(controller);
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    let delivered = false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
        body: payload,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      delivered = response.status >= 200 && response.status < 300;
    } catch {
      delivered = false;
    } finally {
      clearTimeout(timeout);
      this.aborts.delete(controller);
    }
    if (delivered) return this.acknowledge(entry);
    this.scheduleRetry(entry);
  }

  private acknowledge(entry: Pending): void {
    entry.event.pending_webhooks = 0;
    this.pending.delete(entry.event.id);
  }

  private scheduleRetry(entry: Pending): void {
    entry.failures += 1;
    const delay = this.options.retrySchedule[entry.failures - 1];
    if (delay === undefined || this.closed) return;
    entry.timer = setTimeout(() => {
      delete entry.timer;
      void this.attempt(entry);
    }, delay);
  }
}
