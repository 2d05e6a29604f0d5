import type { TallyError } from '../../errors.js';

/**
 * The most credits one ledger row moves (10^12): requests are validated against it, and what a
 * purchase grants is kept within it, so sums of rows stay exact as JavaScript numbers.
 */
export const MAX_AMOUNT = 1_000_000_000_000;

/**
 * The most credits one account holds in all (available and held, 2^53 - 1): its balance and each
 * entry's balances after are sums made in JavaScript, exact only up to this. A grant past it is refused.
 */
export const MAX_BALANCE = Number.MAX_SAFE_INTEGER;

export interface Allocation {
  grantId: string;
  amount: number;
}

export interface GrantState {
  id: string;
  accountId: string;
  amount: number;
  remaining: number;
  source: string;
  expiresAt: Date | null;
  createdAt: Date;
  /** What the grant owes revocations that found its credits held, oldest first (AccountBook.collect). */
  debts: Debt[];
}

/**
 * Credits a revocation could not take because they were held when it came: they are taken as they
 * come back to the grant (a release, a hold that expires, what a capture does not consume). Kept
 * until the revocation is restored, which gives back what was collected and cancels what is owed.
 */
export interface Debt {
  revocationKey: string;
  /** Still to take, as held credits come back; never more than the grant's active holds hold. */
  owed: number;
  /** Taken so far, as they came back. */
  collected: number;
  /**
   * Let go when the grant's active holds came to hold less than it owed (credits a capture consumed,
   * or that lapsed): claimed again if another revocation of the grant is restored (AccountBook.restore).
   * Absent when none.
   */
  cut?: number;
}

/** What a grant still owes, to all its revocations (the ledger's books and a balance read alike). */
export const owedBy = (grant: { debts: Debt[] }) => grant.debts.reduce((sum, debt) => sum + debt.owed, 0);

export interface HoldState {
  id: string;
  accountId: string;
  amount: number;
  status: 'active' | 'captured' | 'released' | 'expired';
  capturedAmount: number | null;
  allocations: Allocation[];
  expiresAt: Date;
  reason: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  settledAt: Date | null;
}

/** What the batch loaded for one locked account: its grants with credits left, and its active holds. */
export interface AccountState {
  id: string;
  grants: GrantState[];
  holds: HoldState[];
}

export type EntryKind = 'grant' | 'spend' | 'hold' | 'capture' | 'release' | 'expiry' | 'adjustment';

export interface NewEntry {
  accountId: string;
  kind: EntryKind;
  amount: number;
  heldChange: number;
  availableAfter: number;
  heldAfter: number;
  grantId: string | null;
  holdId: string | null;
  allocations: Allocation[] | null;
  reason: string | null;
  metadata: Record<string, unknown> | null;
}

export interface GrantCommand {
  type: 'grant';
  accountId: string;
  amount: number;
  source: string;
  /** Exactly-once key for grants from the outside world; a second grant with it is a no-op. */
  sourceKey?: string;
  expiresAt?: Date | null;
  /**
   * A grant asked for through the API: refused when `expiresAt` has passed by the time it is decided,
   * after its key is looked up, so that a retry of one made in time replays it. (A grant from Stripe
   * may come after its period has ended: it is made, and written off at once, in the same transaction.)
   */
  refusedIfLapsed?: boolean;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export interface SpendCommand {
  type: 'spend';
  accountId: string;
  amount: number;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export interface HoldCommand {
  type: 'hold';
  accountId: string;
  amount: number;
  expiresInSeconds: number;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export interface CaptureCommand {
  type: 'capture';
  holdId: string;
  amount: number;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export interface ReleaseCommand {
  type: 'release';
  holdId: string;
  reason?: string | null;
}

/** Writes expiry entries for what has run out; sent by the sweeper, done implicitly by every batch. */
export interface SettleCommand {
  type: 'settle';
  accountId: string;
}

/**
 * Takes back credits of one grant, as far as they are left (a refunded or disputed payment): an
 * `adjustment` entry, written once per `revocationKey` for good (a unique index), even when nothing
 * is left to take, so the ledger tells of every refund.
 */
export interface RevokeCommand {
  type: 'revoke';
  accountId: string;
  grantId: string;
  amount: number;
  /** What is revoked, once: `refund:<Stripe refund id>:<grant id>`, `dispute:<Stripe dispute id>:<grant id>`. */
  revocationKey: string;
  reason: string;
  metadata?: Record<string, unknown>;
}

/**
 * Gives back what a revocation took (a refund that failed: the money stayed with the merchant), to
 * the same grant if it has not expired: an `adjustment` entry, written once for good under the
 * restoration key of the revocation (restorationKeyOf), even when there is nothing to give back. A
 * restoration written first makes the revocation take nothing when it comes.
 */
export interface RestoreCommand {
  type: 'restore';
  accountId: string;
  grantId: string;
  /** The key of the revocation to undo. */
  revocationKey: string;
  reason: string;
  metadata?: Record<string, unknown>;
}

/** The key a restoration of `revocationKey` is written under: revocations and restorations share one unique index. */
export const restorationKeyOf = (revocationKey: string) => `restore:${revocationKey}`;

export type LedgerCommand = GrantCommand | SpendCommand | HoldCommand | CaptureCommand | ReleaseCommand | SettleCommand | RevokeCommand | RestoreCommand;

export interface Idempotency {
  key: string;
  operation: string;
  fingerprint: string;
}

export interface GrantResult {
  type: 'grant';
  grant: { id: string; accountId: string; amount: number; remaining: number; source: string; expiresAt: string | null; createdAt: string };
  entryId: string | null;
  available: number;
  /** False when the sourceKey had been granted before: nothing was written this time. */
  created: boolean;
}
export interface SpendResult {
  type: 'spend';
  entryId: string;
  accountId: string;
  amount: number;
  available: number;
}
export interface HoldView {
  id: string;
  accountId: string;
  amount: number;
  status: HoldState['status'];
  capturedAmount: number | null;
  expiresAt: string;
  reason: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  settledAt: string | null;
}
export interface HoldResult {
  type: 'hold';
  hold: HoldView;
  entryId: string;
  available: number;
  held: number;
}
export interface SettleResult {
  type: 'settle';
  entries: number;
}

/** A revocation (or a restoration) already written for its key. */
export interface PastRevocation {
  accountId: string;
  grantId: string;
  requested: number;
  /** Credits it took (0 for a restoration). */
  revoked: number;
}

export interface RevokeResult {
  type: 'revoke';
  /** Null when this key had been revoked before: nothing was written this time. */
  entryId: string | null;
  accountId: string;
  grantId: string;
  /** Credits asked for, and those taken: what is left of the grant, at most. */
  requested: number;
  revoked: number;
  /** Credits held when it came, taken as they come back to the grant. */
  owed: number;
  available: number;
}

export interface RestoreResult {
  type: 'restore';
  /** Null when this revocation had been restored before: nothing was written this time. */
  entryId: string | null;
  accountId: string;
  grantId: string;
  /** Credits given back: what the revocation took, at once and as held credits came back, or 0 when the grant has expired or nothing was taken. */
  restored: number;
  available: number;
}

export type LedgerResult = GrantResult | SpendResult | HoldResult | SettleResult | RevokeResult | RestoreResult;

export type Outcome<R = LedgerResult> = { ok: true; value: R; replayed?: boolean } | { ok: false; error: TallyError };
