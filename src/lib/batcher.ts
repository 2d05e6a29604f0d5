/**
 * Groups work that arrives while earlier work is in flight, so that many requests share one database
 * transaction. Nothing waits for a timer: an idle batcher runs a request at once; under load, each
 * finished batch starts the next with everything that queued meanwhile. When a batch of several fails
 * as a whole, each item is run again alone, so one bad item cannot fail its neighbours; unless
 * `runAlone` says the failure was none of theirs (a database that does not answer would fail each of
 * them again, one after another, each after its own wait): then all of them fail with it.
 */
export class Batcher<T, R> {
  private queue: Array<{ item: T; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  private running = 0;
  private idle: Array<() => void> = [];
  /** Since start: batches run (a batch that failed and was run again item by item counts each run), items in them, and batches that failed as a whole. */
  readonly counts = { batches: 0, items: 0, failed: 0 };

  constructor(
    private readonly execute: (items: T[]) => Promise<R[]>,
    private readonly options: { maxBatch: number; maxConcurrent: number; onIdle?: () => void; runAlone?: (error: unknown) => boolean },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  get pending(): number {
    return this.queue.length + this.running;
  }

  /** Items waiting for a batch to start. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves when everything submitted so far has finished. */
  async flush(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private drain(): void {
    while (this.queue.length > 0 && this.running < this.options.maxConcurrent) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.run(batch);
    }
  }

  /**
   * The next batch is started before this one's callers are answered: answering runs their code
   * (a response to serialise and send, for a request), which would otherwise delay the next batch.
   */
  private async run(batch: typeof this.queue): Promise<void> {
    const settled = await this.attempt(batch);
    this.running--;
    this.drain();
    settled.forEach((outcome, i) => (outcome.ok ? batch[i].resolve(outcome.value) : batch[i].reject(outcome.error)));
    if (this.pending > 0) return;
    this.options.onIdle?.();
    for (const wake of this.idle.splice(0)) wake();
  }

  private async attempt(batch: typeof this.queue): Promise<Array<{ ok: true; value: R } | { ok: false; error: unknown }>> {
    this.counts.batches++;
    this.counts.items += batch.length;
    try {
      const results = await this.execute(batch.map((entry) => entry.item));
      return results.map((value) => ({ ok: true as const, value }));
    } catch (error) {
      this.counts.failed++;
      if (batch.length === 1 || this.options.runAlone?.(error) === false) return batch.map(() => ({ ok: false as const, error }));
      const settled = [];
      for (const entry of batch) settled.push(...(await this.attempt([entry])));
      return settled;
    }
  }
}
