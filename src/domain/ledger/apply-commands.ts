import { ConflictFailure, InsufficientCreditsFailure, NotFoundFailure, TallyError, ValidationFailure } from '../../errors.js';
import { AccountBook, type BookChanges } from './account-book.js';
import { MAX_BALANCE, restorationKeyOf, type AccountState, type GrantResult, type HoldView, type HoldState, type LedgerCommand, type LedgerResult, type PastRevocation } from './types.js';

export interface Computed {
  outcome: { ok: true; value: LedgerResult } | { ok: false; error: TallyError };
  /** Index into changes.entries of the entry whose id the result reports. */
  entryIndex?: number;
}

export interface BatchState {
  now: Date;
  accounts: Map<string, AccountState>;
  holdAccounts: Map<string, string>;
  /** Grants already made for a sourceKey (exactly-once grants from Stripe). */
  grantedSourceKeys: Map<string, GrantResult['grant']>;
  /** Revocations already written, by revocation key. */
  revocations: Map<string, PastRevocation>;
}

export function emptyChanges(): BookChanges {
  return { entries: [], newGrants: [], changedGrants: new Set(), changedDebts: new Set(), changedHolds: new Set(), newHolds: new Set() };
}

/**
 * Decides a batch of commands, in order, against the loaded state of their locked accounts. Pure: it
 * returns each command's outcome and the rows to write. A command that fails changes nothing.
 */
export function applyCommands(
  commands: Array<LedgerCommand | undefined>,
  state: BatchState,
  newId: (prefix: string) => string,
): { computed: Array<Computed | undefined>; changes: BookChanges; accounts: Map<string, AccountState> } {
  const changes = emptyChanges();
  const books = new Map<string, AccountBook>();
  const bookFor = (accountId: string): AccountBook | undefined => {
    let book = books.get(accountId);
    if (book) return book;
    const account = state.accounts.get(accountId);
    if (!account) return undefined;
    book = new AccountBook(account, state.now, changes);
    book.settle(accountId);
    books.set(accountId, book);
    return book;
  };
  const computed = commands.map((command) => {
    if (!command) return undefined;
    try {
      return applyOne(command, bookFor, state, newId);
    } catch (error) {
      if (error instanceof TallyError) return { outcome: { ok: false as const, error } };
      throw error;
    }
  });
  // Each account the batch touched, as the batch leaves it (what a process may keep: account-cache.ts).
  const accounts = new Map([...books].map(([id, book]) => [id, book.state()]));
  return { computed, changes, accounts };
}

function applyOne(
  command: LedgerCommand,
  bookFor: (accountId: string) => AccountBook | undefined,
  state: BatchState,
  newId: (prefix: string) => string,
): Computed {
  const accountId = 'accountId' in command ? command.accountId : state.holdAccounts.get(command.holdId);
  if (accountId === undefined) throw new NotFoundFailure('hold', 'holdId' in command ? command.holdId : '');
  const book = bookFor(accountId);
  if (!book) throw new NotFoundFailure('account', accountId);
  const ok = (value: LedgerResult, entryIndex?: number): Computed => ({ outcome: { ok: true, value }, entryIndex });

  switch (command.type) {
    case 'settle':
      return ok({ type: 'settle', entries: 0 });
    case 'grant': {
      const existing = command.sourceKey ? state.grantedSourceKeys.get(command.sourceKey) : undefined;
      if (existing) return ok({ type: 'grant', grant: existing, entryId: null, available: book.available(), created: false });
      if (command.refusedIfLapsed && command.expiresAt && command.expiresAt.getTime() <= state.now.getTime()) {
        throw new ValidationFailure('invalid_request', 'expiresAt must be in the future', { field: 'body.expiresAt' });
      }
      if (book.credits() + command.amount > MAX_BALANCE) {
        throw new ConflictFailure('balance_too_large', `The account would hold more than ${MAX_BALANCE} credits in all`, { credits: book.credits(), requested: command.amount, max: MAX_BALANCE });
      }
      const grant = {
        id: newId('grt'),
        accountId,
        amount: command.amount,
        remaining: command.amount,
        source: command.source,
        sourceKey: command.sourceKey ?? null,
        expiresAt: command.expiresAt ?? null,
        createdAt: state.now,
        debts: [],
        reason: command.reason ?? null,
        metadata: command.metadata ?? {},
      };
      const entry = book.addGrant(grant);
      // A grant from Stripe may come after its period ended: it lapses at once, in this transaction.
      // The expiry sweeper looks only at grants that expired since its last pass, so a grant made
      // with credits left and an older expiry would never be written off unless a command came.
      book.settle(accountId);
      const view = grantView(grant);
      if (command.sourceKey) state.grantedSourceKeys.set(command.sourceKey, view);
      return ok({ type: 'grant', grant: view, entryId: null, available: book.available(), created: true }, entry);
    }
    case 'spend': {
      const available = book.available();
      const entry = book.spend(accountId, command.amount, command.reason ?? null, command.metadata ?? null);
      if (entry === undefined) throw new InsufficientCreditsFailure(available, command.amount);
      return ok({ type: 'spend', entryId: '', accountId, amount: command.amount, available: book.available() }, entry);
    }
    case 'hold': {
      const available = book.available();
      const placed = book.placeHold({
        id: newId('hold'),
        accountId,
        amount: command.amount,
        expiresAt: new Date(state.now.getTime() + command.expiresInSeconds * 1000),
        reason: command.reason ?? null,
        metadata: command.metadata ?? {},
        createdAt: state.now,
      });
      if (!placed) throw new InsufficientCreditsFailure(available, command.amount);
      return ok({ type: 'hold', hold: holdView(placed.hold), entryId: '', available: book.available(), held: book.held() }, placed.entry);
    }
    case 'revoke': {
      // Revoked before, or already restored (the refund failed before its revocation came): nothing to take.
      const past = state.revocations.get(command.revocationKey);
      if (past) return ok({ type: 'revoke', entryId: null, accountId: past.accountId, grantId: past.grantId, requested: past.requested, revoked: 0, owed: 0, available: book.available() });
      if (state.revocations.has(restorationKeyOf(command.revocationKey))) {
        return ok({ type: 'revoke', entryId: null, accountId, grantId: command.grantId, requested: command.amount, revoked: 0, owed: 0, available: book.available() });
      }
      const { revocationKey } = command;
      const { entry, revoked, owed } = book.revoke(accountId, command.grantId, command.amount, revocationKey, command.reason, { ...(command.metadata ?? {}), revocationKey });
      state.revocations.set(revocationKey, { accountId, grantId: command.grantId, requested: command.amount, revoked });
      return ok({ type: 'revoke', entryId: '', accountId, grantId: command.grantId, requested: command.amount, revoked, owed, available: book.available() }, entry);
    }
    case 'restore': {
      const key = restorationKeyOf(command.revocationKey);
      if (state.revocations.has(key)) return ok({ type: 'restore', entryId: null, accountId, grantId: command.grantId, restored: 0, available: book.available() });
      const taken = state.revocations.get(command.revocationKey)?.revoked ?? 0;
      const metadata = { ...(command.metadata ?? {}), revocationKey: key, restores: command.revocationKey };
      const { entry, restored } = book.restore(accountId, command.grantId, command.revocationKey, taken, command.reason, metadata);
      state.revocations.set(key, { accountId, grantId: command.grantId, requested: 0, revoked: 0 });
      return ok({ type: 'restore', entryId: '', accountId, grantId: command.grantId, restored, available: book.available() }, entry);
    }
    case 'capture':
    case 'release': {
      const hold = book.hold(command.holdId);
      if (!hold) throw new NotFoundFailure('hold', command.holdId);
      const entry =
        command.type === 'capture'
          ? book.capture(hold, command.amount, command.reason ?? null, command.metadata ?? null)
          : book.release(hold, command.reason ?? null);
      book.settle(accountId);
      return ok({ type: 'hold', hold: holdView(hold), entryId: '', available: book.available(), held: book.held() }, entry);
    }
  }
}

export function grantView(grant: { id: string; accountId: string; amount: number; remaining: number; source: string; expiresAt: Date | null; createdAt: Date }): GrantResult['grant'] {
  return {
    id: grant.id,
    accountId: grant.accountId,
    amount: grant.amount,
    remaining: grant.remaining,
    source: grant.source,
    expiresAt: grant.expiresAt?.toISOString() ?? null,
    createdAt: grant.createdAt.toISOString(),
  };
}

export function holdView(hold: HoldState): HoldView {
  return {
    id: hold.id,
    accountId: hold.accountId,
    amount: hold.amount,
    status: hold.status,
    capturedAmount: hold.capturedAmount,
    expiresAt: hold.expiresAt.toISOString(),
    reason: hold.reason,
    metadata: hold.metadata,
    createdAt: hold.createdAt.toISOString(),
    settledAt: hold.settledAt?.toISOString() ?? null,
  };
}
