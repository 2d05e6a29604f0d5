import { DatabaseClock } from './database-clock.js';
import type { AccountState, Debt, GrantState, HoldState } from './types.js';

/**
 * How far off an expiry must be for a kept account to be decided from its copy. A loaded account is
 * decided on the database's clock; a copy on the database's clock as the last load read it
 * (DatabaseClock: off by up to half that load's round trip, and by what this host's clock drifted
 * since). An account with a grant or hold expiring within this margin is always loaded, so that the
 * two readings never decide differently. A batch decided on kept states is written only while the
 * database's clock is within this margin of its decision (checkWriteAndCommit): its locks are taken
 * after it was decided, and may be waited for longer (up to DATABASE_TIMEOUT_MS).
 */
export const EXPIRY_MARGIN_MS = 60_000;

/**
 * When most kept states turn out stale, trying them costs a round trip per batch and buys nothing:
 * so it is with several processes writing the same accounts (each keeps states the others change).
 * Two processes spending on the same 10,000 accounts at once were about a tenth slower than without
 * a cache (a third, loaded in alternating slices). The share of kept batches PostgreSQL
 * refused is followed as a moving average (each batch weighing REFUSAL_WEIGHT); above REFUSAL_LIMIT,
 * the process stops deciding on kept states for REFUSED_PAUSE_MS (every batch loads, as without a
 * cache), then tries again. Alone on its accounts, a process is refused only now and then.
 */
export const REFUSED_PAUSE_MS = 30_000;
const REFUSAL_WEIGHT = 0.1;
const REFUSAL_LIMIT = 0.5;

/** A grant as kept: [id, amount, remaining, source, expiresAt (ms) or null, createdAt (ms), debts or null for none]. */
type KeptGrant = [string, number, number, string, number | null, number, Debt[] | null];

/**
 * An account's state as kept, in a compact form (tens of thousands may be kept: each GrantState
 * object with its two Dates took about three times the memory): expanded again by `take`.
 */
interface Kept {
  grants: KeptGrant[];
  holds: HoldState[];
  /** The id of the account's latest ledger entry when the state was kept. */
  lastEntryId: string;
}

/** Copies of kept accounts for one batch, and the entry ids the database must still find latest. */
export interface CachedAccounts {
  states: Map<string, AccountState>;
  lastEntryIds: Map<string, string>;
  /** The account of each active hold of those accounts. */
  holdAccounts: Map<string, string>;
}

/**
 * The state of accounts this process has just written, kept after the commit with the id of their
 * latest ledger entry, so that the next batch of spends, holds, captures and releases on them can be
 * decided without loading them:
 * one round trip to PostgreSQL instead of two (run-ledger-batch.ts). The copy is only a guess; the
 * database decides whether it still holds. That batch locks the accounts, and its write is guarded
 * by a check that each account's latest entry is still the kept one (the WRITE statement in
 * ledger-queries.ts). Every change of an account's balance, grants or holds writes a ledger entry, so
 * a change made since (by another process, or by this one through a batch that did not keep the
 * account) fails the check: nothing is written, and the batch runs again with a load.
 *
 * At most `capacity` accounts are kept, the least recently used dropped first.
 */
export class AccountCache {
  private readonly kept = new Map<string, Kept>();
  /** The account of every active hold of a kept account. */
  private readonly holdAccounts = new Map<string, string>();
  /** Batches decided from kept copies, those whose copies the database refused, and the pauses those refusals caused. */
  readonly counts = { decided: 0, refused: 0, pauses: 0 };
  private refusalRate = 0;
  private pausedUntil = 0;
  /** The clock kept states are decided on: the database's, as the last load read it. */
  readonly clock = new DatabaseClock();

  constructor(
    private readonly capacity: number,
    private readonly pauseMs = REFUSED_PAUSE_MS,
  ) {}

  /**
   * Copies of the kept states of the accounts named and of the accounts of the holds named, to decide
   * a batch on: only when every one is kept and none has an active grant or hold expiring within
   * EXPIRY_MARGIN_MS of `now`.
   */
  take(accountIds: string[], holdIds: string[], now: Date): CachedAccounts | undefined {
    if (now.getTime() < this.pausedUntil) return undefined;
    const holdAccounts = new Map<string, string>();
    for (const holdId of holdIds) {
      const accountId = this.holdAccounts.get(holdId);
      if (accountId === undefined) return undefined;
      holdAccounts.set(holdId, accountId);
    }
    const states = new Map<string, AccountState>();
    const lastEntryIds = new Map<string, string>();
    // An account may be named both itself and through a hold: one copy of it.
    for (const id of new Set([...accountIds, ...holdAccounts.values()])) {
      const kept = this.kept.get(id);
      if (!kept || expiresSoon(kept, now)) return undefined;
      states.set(id, expand(id, kept));
      lastEntryIds.set(id, kept.lastEntryId);
    }
    return { states, lastEntryIds, holdAccounts };
  }

  /** Keeps `state` (which the caller no longer changes) as the account's state after entry `lastEntryId`. */
  remember(state: AccountState, lastEntryId: string): void {
    // Re-inserting moves the account to the end: the first in the map is the least recently used.
    this.drop(state.id);
    this.kept.set(state.id, { grants: state.grants.map(compact), holds: state.holds, lastEntryId });
    for (const hold of state.holds) this.holdAccounts.set(hold.id, state.id);
    if (this.kept.size > this.capacity) this.drop(this.kept.keys().next().value!);
  }

  /** A batch decided on kept states was written. */
  decided(): void {
    this.counts.decided++;
    this.refusalRate *= 1 - REFUSAL_WEIGHT;
  }

  /** A batch decided on kept states found one of its idempotency keys taken (a retry: its load replays it). Says nothing of the states. */
  keyTaken(): void {
    this.counts.refused++;
  }

  /** A batch decided on kept states was refused, wrote nothing, and will load: `changed` accounts had moved on since they were kept. */
  refused(changed: Iterable<string>, now: Date): void {
    this.counts.refused++;
    for (const id of changed) this.drop(id);
    this.refusalRate = this.refusalRate * (1 - REFUSAL_WEIGHT) + REFUSAL_WEIGHT;
    if (this.refusalRate <= REFUSAL_LIMIT) return;
    this.counts.pauses++;
    this.pausedUntil = now.getTime() + this.pauseMs;
    this.refusalRate = 0;
  }

  private drop(accountId: string): void {
    for (const hold of this.kept.get(accountId)?.holds ?? []) this.holdAccounts.delete(hold.id);
    this.kept.delete(accountId);
  }

  get size(): number {
    return this.kept.size;
  }
}

/**
 * Whether an expiry near enough to be judged by a clock is among a kept state's grants with credits
 * left, the grants an active hold drew on (a release or an expired hold gives credits back to them,
 * used up or not), and its active holds.
 */
function expiresSoon(kept: Kept, now: Date): boolean {
  const horizon = now.getTime() + EXPIRY_MARGIN_MS;
  const active = kept.holds.filter((h) => h.status === 'active');
  const drawnOn = new Set(active.flatMap((h) => h.allocations.map((a) => a.grantId)));
  return (
    kept.grants.some(([id, , remaining, , expiresAt]) => (remaining > 0 || drawnOn.has(id)) && expiresAt !== null && expiresAt <= horizon) ||
    active.some((h) => h.expiresAt.getTime() <= horizon)
  );
}

const compact = (g: GrantState): KeptGrant => [g.id, g.amount, g.remaining, g.source, g.expiresAt?.getTime() ?? null, g.createdAt.getTime(), g.debts.length ? g.debts : null];

/** New objects each time: a batch changes the grants and holds it is given in place; the kept ones stay as they were. */
function expand(accountId: string, kept: Kept): AccountState {
  return {
    id: accountId,
    grants: kept.grants.map(([id, amount, remaining, source, expiresAt, createdAt, debts]) => ({
      id,
      accountId,
      amount,
      remaining,
      source,
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      createdAt: new Date(createdAt),
      debts: debts ? debts.map((debt) => ({ ...debt })) : [],
    })),
    holds: kept.holds.map((h) => ({ ...h })),
  };
}
