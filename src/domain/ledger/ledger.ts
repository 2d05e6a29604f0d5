import type { Pool } from 'pg';
import type { TallyError } from '../../errors.js';
import { unlessDatabaseUnreachable } from '../../db/database-unreachable.js';
import { HeldConnections } from '../../db/held-connections.js';
import { Batcher } from '../../lib/batcher.js';
import { newId } from '../../lib/ids.js';
import { AccountCache } from './account-cache.js';
import { runLedgerBatch, type LedgerRequest } from './run-ledger-batch.js';
import type { GrantCommand, GrantResult, HoldCommand, HoldResult, Idempotency, Outcome, RestoreCommand, RestoreResult, RevokeCommand, RevokeResult, SpendCommand, SpendResult } from './types.js';

export interface Replayable<R> {
  value: R;
  replayed: boolean;
}

export interface LedgerOptions {
  /** Most commands in one transaction. */
  maxBatch?: number;
  /** Transactions in flight at once from this process. */
  maxConcurrent?: number;
  /** Accounts whose state is kept between batches, so that spends on them need no load (none by default). */
  cacheAccounts?: number;
  /** How long the cache rests after most kept states were refused (account-cache.ts: REFUSED_PAUSE_MS). */
  cachePauseMs?: number;
}

/**
 * The only way a balance changes. Commands from concurrent requests are batched into shared
 * transactions (see Batcher); each still gets its own outcome, in arrival order.
 */
export class Ledger {
  private readonly batcher: Batcher<LedgerRequest, Outcome>;
  private readonly cache: AccountCache | undefined;

  constructor(pool: Pool, options: LedgerOptions = {}) {
    // A batch that finishes while commands wait keeps its connection for the next one.
    const connections = new HeldConnections(pool, () => this.batcher.waiting > 0);
    this.cache = options.cacheAccounts ? new AccountCache(options.cacheAccounts, options.cachePauseMs) : undefined;
    this.batcher = new Batcher((requests) => runLedgerBatch(connections, requests, newId, this.cache), {
      maxBatch: options.maxBatch ?? 256,
      maxConcurrent: options.maxConcurrent ?? 4,
      onIdle: () => connections.releaseKept(),
      runAlone: unlessDatabaseUnreachable,
    });
  }

  spend(command: Omit<SpendCommand, 'type'>, idempotency: Idempotency): Promise<Replayable<SpendResult>> {
    return this.run({ command: { type: 'spend', ...command }, idempotency });
  }

  grant(command: Omit<GrantCommand, 'type'>, idempotency?: Idempotency): Promise<Replayable<GrantResult>> {
    return this.run({ command: { type: 'grant', ...command }, idempotency });
  }

  hold(command: Omit<HoldCommand, 'type'>, idempotency: Idempotency): Promise<Replayable<HoldResult>> {
    return this.run({ command: { type: 'hold', ...command }, idempotency });
  }

  capture(holdId: string, amount: number, extra: { reason?: string | null; metadata?: Record<string, unknown> }, idempotency?: Idempotency): Promise<Replayable<HoldResult>> {
    return this.run({ command: { type: 'capture', holdId, amount, ...extra }, idempotency });
  }

  release(holdId: string, reason: string | null, idempotency?: Idempotency): Promise<Replayable<HoldResult>> {
    return this.run({ command: { type: 'release', holdId, reason }, idempotency });
  }

  /** Takes back what is left of a grant's credits, up to `amount`, once per revocation key. */
  revoke(command: Omit<RevokeCommand, 'type'>): Promise<Replayable<RevokeResult>> {
    return this.run({ command: { type: 'revoke', ...command } });
  }

  /** Gives back what the revocation of `revocationKey` took, once (a refund that failed). */
  restore(command: Omit<RestoreCommand, 'type'>): Promise<Replayable<RestoreResult>> {
    return this.run({ command: { type: 'restore', ...command } });
  }

  /** Writes the expiry entries that are due on an account (grants and holds past their time). */
  async settle(accountId: string): Promise<void> {
    await this.run({ command: { type: 'settle', accountId } });
  }

  /** How the account cache has served: accounts kept, batches decided on kept states, those PostgreSQL refused, and the pauses that caused. */
  cacheStats(): { accounts: number; decided: number; refused: number; pauses: number } {
    return { accounts: this.cache?.size ?? 0, decided: 0, refused: 0, pauses: 0, ...this.cache?.counts };
  }

  /** How the ledger has batched since start (the batcher's counts), and the commands waiting for a batch now. */
  batchStats(): { batches: number; commands: number; failed: number; waiting: number } {
    const { batches, items, failed } = this.batcher.counts;
    return { batches, commands: items, failed, waiting: this.batcher.waiting };
  }

  /** Waits for every command already submitted. */
  drain(): Promise<void> {
    return this.batcher.flush();
  }

  private async run<R>(request: LedgerRequest): Promise<Replayable<R>> {
    const outcome = await this.batcher.submit(request);
    if (!outcome.ok) throw outcome.error as TallyError;
    return { value: outcome.value as R, replayed: outcome.replayed ?? false };
  }
}
