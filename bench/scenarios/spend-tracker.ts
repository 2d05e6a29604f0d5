import { randomUUID } from 'node:crypto';
import { sendConcurrently } from '../send-concurrently.js';
import type { TallyClient } from '../tally-client.js';

/**
 * Counts spends on one account across warm-up and measurement: every Idempotency-Key sent, which were
 * answered, and how many Tally acknowledged (200).
 */
export class SpendTracker {
  acknowledged = 0;
  status5xx = 0;
  readonly statusCodes: Record<string, number> = {};
  private readonly pending = new Set<string>();

  /** A new key, counted as sent (autocannon sends every request it builds). */
  sent(): string {
    const key = randomUUID();
    this.pending.add(key);
    return key;
  }

  answered(key: string, status: number): void {
    this.pending.delete(key);
    this.statusCodes[status] = (this.statusCodes[status] ?? 0) + 1;
    if (status === 200) this.acknowledged++;
    if (status >= 500) this.status5xx++;
  }

  unanswered(): number {
    return this.pending.size;
  }

  /**
   * Sends every unanswered request again with its key and body. A spend Tally had applied comes back
   * replayed; one it never received is applied now. Either way it is then acknowledged.
   */
  async replay(client: TallyClient, path: string, body: string): Promise<{ replayed: number; appliedNow: number; statusCodes: Record<string, number> }> {
    const outcome = { replayed: 0, appliedNow: 0, statusCodes: {} as Record<string, number> };
    await sendConcurrently([...this.pending], 8, async (key) => {
      const response = await client.request('POST', path, body, { 'idempotency-key': key });
      this.answered(key, response.status);
      outcome.statusCodes[response.status] = (outcome.statusCodes[response.status] ?? 0) + 1;
      if (response.status !== 200) return;
      if (response.headers.get('idempotent-replayed') === 'true') outcome.replayed++;
      else outcome.appliedNow++;
    });
    return outcome;
  }
}
