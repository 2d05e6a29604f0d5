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
 */
export class HeldConnections implements ConnectionSource {
  private readonly kept: PoolClient[] = [];
  /** A kept connection is checked out of the pool, so nothing else listens for its errors. */
  private readonly onError = new Map<PoolClient, (error: Error) => void>();

  constructor(
    private readonly pool: Pool,
    private readonly keep: () => boolean = () => false,
  ) {}

  acquire(): PoolClient | Promise<PoolClient> {
    const client = this.kept.pop();
    if (!client) return this.pool.connect();
    this.unwatch(client);
    return client;
  }

  release(client: PoolClient, broken: boolean): void {
    if (broken || !this.keep()) return client.release(broken);
    const onError = () => {
      this.kept.splice(this.kept.indexOf(client), 1);
      this.unwatch(client);
      client.release(true);
    };
    this.onError.set(client, onError);
    client.on('error', onError);
    this.kept.push(client);
  }

  releaseKept(): void {
    for (const client of this.kept.splice(0)) {
      this.unwatch(client);
      client.release();
    }
  }

  private unwatch(client: PoolClient): void {
    const onError = this.onError.get(client);
    if (onError) client.off('error', onError);
    this.onError.delete(client);
  }
}
