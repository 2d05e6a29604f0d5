import type { Pool, PoolClient } from 'pg';

/** Where a batch gets its connection, and gives it back (`broken`: it cannot be used again). */
export interface ConnectionSource {
  acquire(): PoolClient | Promise<PoolClient>;
  release(client: PoolClient, broken: boolean): void;
}

/**
 * Pool connections that a run of back-to-back batches keeps instead of handing back between them.
 * A connection from `pg.Pool` is handed over on a later tick (process.nextTick), after everything
 * already queued on this one, such as the responses to the batch that just finished. A kept one is
 * there at once, so the next batch's first statement leaves while those responses are written.
 * A connection is kept only while `keep()` says more work waits, and `releaseKept` hands the kept
 * ones back when that work is done.
 *
 * A connection out of the pool has no listener for its 'error' event but the one put here: pg emits
 * it when the server goes away (a restart, a failover), and an 'error' event nobody listens for ends
 * the process. A connection that failed in use is given back broken (its query has failed too); a
 * kept one that fails is dropped at once.
 */
export class HeldConnections implements ConnectionSource {
  private readonly kept: PoolClient[] = [];
  private readonly watchers = new Map<PoolClient, (error: Error) => void>();
  private readonly failed = new Set<PoolClient>();

  constructor(
    private readonly pool: Pool,
    private readonly keep: () => boolean = () => false,
  ) {}

  acquire(): PoolClient | Promise<PoolClient> {
    const client = this.kept.pop();
    if (client) return client;
    return this.pool.connect().then((connected) => this.watch(connected));
  }

  release(client: PoolClient, broken: boolean): void {
    const unusable = broken || this.failed.has(client);
    if (unusable || !this.keep()) return this.giveBack(client, unusable);
    this.kept.push(client);
  }

  releaseKept(): void {
    for (const client of this.kept.splice(0)) this.giveBack(client, false);
  }

  private watch(client: PoolClient): PoolClient {
    const onError = () => {
      const kept = this.kept.indexOf(client);
      if (kept === -1) {
        this.failed.add(client);
        return;
      }
      this.kept.splice(kept, 1);
      this.giveBack(client, true);
    };
    this.watchers.set(client, onError);
    client.on('error', onError);
    return client;
  }

  /** Back to the pool, which listens for its errors from then on (or closes it, when broken). */
  private giveBack(client: PoolClient, broken: boolean): void {
    const onError = this.watchers.get(client);
    if (onError) client.off('error', onError);
    this.watchers.delete(client);
    this.failed.delete(client);
    client.release(broken);
  }
}
