import { ConflictFailure, ValidationFailure } from '../../errors.js';
import { burnDown, compareBurnOrder, isLive, splitAllocations } from './burn-down.js';
import { owedBy, type AccountState, type Allocation, type Debt, type EntryKind, type GrantState, type HoldState, type NewEntry } from './types.js';

/** A debt's cut, kept only when there is one. */
function setCut(debt: Debt, cut: number): void {
  if (cut > 0) debt.cut = cut;
  else delete debt.cut;
}

export interface BookChanges {
  entries: NewEntry[];
  newGrants: Array<GrantState & { sourceKey: string | null; reason: string | null; metadata: Record<string, unknown> }>;
  changedGrants: Set<GrantState>;
  /** Grants whose debts changed (also in changedGrants): the only ones whose debts are written. */
  changedDebts: Set<GrantState>;
  changedHolds: Set<HoldState>;
  newHolds: Set<HoldState>;
}

/**
 * One account's credits, in memory, for the length of a batch: the rules of granting, spending and
 * holding, with no I/O. The batch persists what `changes` collects.
 */
export class AccountBook {
  private readonly grants: GrantState[];
  private readonly holds: Map<string, HoldState>;

  private readonly accountId: string;

  constructor(
    state: AccountState,
    private readonly now: Date,
    private readonly changes: BookChanges,
  ) {
    this.accountId = state.id;
    this.grants = [...state.grants].sort(compareBurnOrder);
    this.holds = new Map(state.holds.map((hold) => [hold.id, hold]));
  }

  /**
   * The account as the batch leaves it, as a load would find it then: its active holds, and its
   * grants with credits left or that one of those holds may give credits back to.
   */
  state(): AccountState {
    const holds = [...this.holds.values()].filter((hold) => hold.status === 'active');
    const heldFrom = new Set(holds.flatMap((hold) => hold.allocations.map((a) => a.grantId)));
    return { id: this.accountId, grants: this.grants.filter((g) => g.remaining > 0 || heldFrom.has(g.id)), holds };
  }

  /** What can be spent now: credits left on grants that have not expired. */
  available(): number {
    return this.grants.reduce((sum, grant) => (isLive(grant, this.now) ? sum + grant.remaining : sum), 0);
  }

  /**
   * The balance as the ledger states it: every entry's amount summed. It counts credits of a grant
   * past its expiry until the expiry entry is written, which `settle` does before and after every
   * command, so the two agree whenever a command decides anything.
   */
  private ledgerAvailable(): number {
    return this.grants.reduce((sum, grant) => sum + grant.remaining, 0);
  }

  /** Every credit the account holds, available or held, expired or not: what a grant adds to. */
  credits(): number {
    return this.ledgerAvailable() + this.held();
  }

  held(): number {
    let held = 0;
    for (const hold of this.holds.values()) if (hold.status === 'active') held += hold.amount;
    return held;
  }

  hold(id: string): HoldState | undefined {
    return this.holds.get(id);
  }

  /** Releases holds past their expiry, then writes off grants past theirs, in that order (see README). */
  settle(accountId: string): number {
    let written = 0;
    for (const hold of this.holds.values()) {
      if (hold.status !== 'active' || hold.expiresAt.getTime() > this.now.getTime()) continue;
      this.returnToGrants(hold.allocations);
      this.closeHold(hold, 'expired', null);
      this.record(accountId, 'release', { amount: hold.amount, heldChange: -hold.amount, holdId: hold.id, allocations: hold.allocations, reason: 'hold expired' });
      written += 1 + this.collect(hold, hold.allocations);
    }
    for (const grant of this.grants) {
      if (grant.remaining === 0 || isLive(grant, this.now)) continue;
      const lapsed = grant.remaining;
      grant.remaining = 0;
      this.changes.changedGrants.add(grant);
      // The credits stopped counting at expiresAt; this entry records it in the ledger.
      this.record(accountId, 'expiry', { amount: -lapsed, heldChange: 0, grantId: grant.id, allocations: [{ grantId: grant.id, amount: lapsed }], reason: 'grant expired' });
      written++;
    }
    return written;
  }

  addGrant(grant: BookChanges['newGrants'][number]): number {
    this.grants.push(grant);
    this.grants.sort(compareBurnOrder);
    this.changes.newGrants.push(grant);
    return this.record(grant.accountId, 'grant', { amount: grant.amount, heldChange: 0, grantId: grant.id, reason: grant.reason, metadata: grant.metadata });
  }

  /** Returns the entry index, or undefined when there are not enough credits (nothing changes then). */
  spend(accountId: string, amount: number, reason: string | null, metadata: Record<string, unknown> | null): number | undefined {
    const allocations = this.take(amount);
    if (!allocations) return undefined;
    return this.record(accountId, 'spend', { amount: -amount, heldChange: 0, allocations, reason, metadata });
  }

  /**
   * Takes up to `amount` of what is left of a grant that has not expired; credits spent from it stay
   * spent. Of the rest, those held from it now (and not owed to an earlier revocation) are owed: taken
   * as they come back to the grant (collect); those held but owed to an earlier revocation are its
   * cut, claimed again if that one is restored. Records the entry even when nothing is taken. Returns
   * the entry index, how many were taken and how many are owed.
   */
  revoke(accountId: string, grantId: string, amount: number, revocationKey: string, reason: string, metadata: Record<string, unknown>): { entry: number; revoked: number; owed: number } {
    const grant = this.grant(grantId);
    const live = grant !== undefined && isLive(grant, this.now);
    const revoked = live ? Math.min(amount, grant.remaining) : 0;
    const held = live ? Math.min(amount - revoked, this.heldFrom(grantId)) : 0;
    const owed = live ? Math.max(0, Math.min(held, this.heldFrom(grantId) - owedBy(grant))) : 0;
    if (grant && revoked > 0) {
      grant.remaining -= revoked;
      this.changes.changedGrants.add(grant);
    }
    // Held credits already owed to earlier revocations are cut from this one's debt from the start.
    if (grant && held > 0) {
      const debt: Debt = { revocationKey, owed, collected: 0 };
      setCut(debt, held - owed);
      grant.debts.push(debt);
      this.debtsChanged(grant);
    }
    const allocations = revoked > 0 ? [{ grantId, amount: revoked }] : [];
    const entry = this.record(accountId, 'adjustment', { amount: -revoked, heldChange: 0, grantId, allocations, reason, metadata: { ...metadata, requested: amount, revoked, owed } });
    return { entry, revoked, owed };
  }

  /**
   * Gives back to a grant that has not expired what the revocation of `revocationKey` took: `taken`
   * at once, and what was collected for it since (never more than the grant was made with), and
   * cancels what it is still owed; then what the grant's other debts were cut is claimed again
   * (claimCutAgain). Records the entry even when nothing is given. Returns the entry index and how
   * many were given.
   */
  restore(accountId: string, grantId: string, revocationKey: string, taken: number, reason: string, metadata: Record<string, unknown>): { entry: number; restored: number } {
    const grant = this.grant(grantId);
    const debt = grant?.debts.find((d) => d.revocationKey === revocationKey);
    if (grant && debt) {
      grant.debts = grant.debts.filter((d) => d !== debt);
      this.debtsChanged(grant);
    }
    const owedBack = taken + (debt?.collected ?? 0);
    const restored = grant && isLive(grant, this.now) ? Math.min(owedBack, grant.amount - grant.remaining) : 0;
    if (grant && restored > 0) {
      grant.remaining += restored;
      this.changes.changedGrants.add(grant);
    }
    const allocations = restored > 0 ? [{ grantId, amount: restored }] : [];
    const cancelled = debt?.owed ? { cancelled: debt.owed } : {};
    const entry = this.record(accountId, 'adjustment', { amount: restored, heldChange: 0, grantId, allocations, reason, metadata: { ...metadata, restored, ...cancelled } });
    if (grant && isLive(grant, this.now)) this.claimCutAgain(accountId, grant);
    return { entry, restored };
  }

  placeHold(hold: Omit<HoldState, 'allocations' | 'status' | 'capturedAmount' | 'settledAt'>): { hold: HoldState; entry: number } | undefined {
    const allocations = this.take(hold.amount);
    if (!allocations) return undefined;
    const placed: HoldState = { ...hold, allocations, status: 'active', capturedAmount: null, settledAt: null };
    this.holds.set(placed.id, placed);
    this.changes.newHolds.add(placed);
    const entry = this.record(hold.accountId, 'hold', { amount: -hold.amount, heldChange: hold.amount, holdId: hold.id, allocations, reason: hold.reason, metadata: hold.metadata });
    return { hold: placed, entry };
  }

  capture(hold: HoldState, amount: number, reason: string | null, metadata: Record<string, unknown> | null): number {
    this.assertActive(hold);
    if (amount > hold.amount) {
      throw new ValidationFailure('capture_exceeds_hold', `Cannot capture ${amount}: the hold is for ${hold.amount}`, { held: hold.amount, requested: amount });
    }
    const { consumed, returned } = splitAllocations(hold.allocations, amount);
    this.returnToGrants(returned);
    this.closeHold(hold, 'captured', amount);
    const entry = this.record(hold.accountId, 'capture', {
      amount: hold.amount - amount,
      heldChange: -hold.amount,
      holdId: hold.id,
      allocations: consumed,
      reason,
      metadata: { ...(metadata ?? {}), captured: amount, returned: hold.amount - amount },
    });
    this.collect(hold, returned);
    return entry;
  }

  release(hold: HoldState, reason: string | null): number {
    this.assertActive(hold);
    this.returnToGrants(hold.allocations);
    this.closeHold(hold, 'released', null);
    const entry = this.record(hold.accountId, 'release', { amount: hold.amount, heldChange: -hold.amount, holdId: hold.id, allocations: hold.allocations, reason });
    this.collect(hold, hold.allocations);
    return entry;
  }

  private assertActive(hold: HoldState): void {
    if (hold.status === 'expired' || (hold.status === 'active' && hold.expiresAt.getTime() <= this.now.getTime())) {
      throw new ConflictFailure('hold_expired', `Hold ${hold.id} expired at ${hold.expiresAt.toISOString()}`, { holdId: hold.id });
    }
    if (hold.status !== 'active') {
      throw new ConflictFailure('hold_not_active', `Hold ${hold.id} is ${hold.status}`, { holdId: hold.id, status: hold.status });
    }
  }

  private take(amount: number): Allocation[] | undefined {
    const allocations = burnDown(this.grants, amount, this.now);
    if (allocations) for (const a of allocations) this.changes.changedGrants.add(this.grant(a.grantId)!);
    return allocations;
  }

  /** Credits returned to a grant that has expired meanwhile lapse at once: settle writes them off next. */
  private returnToGrants(allocations: Allocation[]): void {
    for (const allocation of allocations) {
      const grant = this.grant(allocation.grantId);
      if (!grant) continue;
      grant.remaining += allocation.amount;
      this.changes.changedGrants.add(grant);
    }
  }

  /**
   * After `hold` closed and gave `returned` back to its grants: of what came back to a grant that owes
   * revocations, takes what they are owed at once, oldest revocation first, in an `adjustment` entry
   * naming each (a grant that has expired meanwhile gives nothing: its credits lapse). What a grant
   * still owes is then never more than its remaining active holds hold: credits the hold consumed
   * (a capture) or that lapsed are spent, as at the revocation, and the newest debts are cut first
   * (each keeps what it was cut, claimed again if another revocation is restored: claimCutAgain).
   * Returns the number of entries written.
   */
  private collect(hold: HoldState, returned: Allocation[]): number {
    let written = 0;
    for (const grantId of new Set(hold.allocations.map((a) => a.grantId))) {
      const grant = this.grant(grantId);
      const owing = grant ? owedBy(grant) : 0;
      if (!grant || owing === 0) continue;
      const back = returned.reduce((sum, a) => (a.grantId === grantId ? sum + a.amount : sum), 0);
      let left = isLive(grant, this.now) ? Math.min(back, owing) : 0;
      const taken = left;
      const collectedFor: Array<{ revocationKey: string; credits: number }> = [];
      for (const debt of grant.debts) {
        const credits = Math.min(debt.owed, left);
        if (credits === 0) continue;
        debt.owed -= credits;
        debt.collected += credits;
        left -= credits;
        collectedFor.push({ revocationKey: debt.revocationKey, credits });
      }
      let excess = owedBy(grant) - this.heldFrom(grantId);
      for (const debt of [...grant.debts].reverse()) {
        const cut = Math.min(debt.owed, Math.max(excess, 0));
        debt.owed -= cut;
        setCut(debt, (debt.cut ?? 0) + cut);
        excess -= cut;
      }
      grant.debts = grant.debts.filter((d) => d.owed > 0 || d.collected > 0 || d.cut !== undefined);
      this.debtsChanged(grant);
      written += this.recordCollection(hold.accountId, grant, taken, collectedFor, 'held credits came back: taken for a refund or dispute');
    }
    return written;
  }

  /**
   * After a restoration, what the grant's other debts had cut is claimed again, oldest revocation
   * first, as if the restored revocation had never come (so the order of a capture and a failed
   * refund does not decide who keeps the credits): taken at once from what the grant has left (what
   * the restoration gave back among them), then owed as far as its active holds hold more than it
   * owes. Returns the number of entries written.
   */
  private claimCutAgain(accountId: string, grant: GrantState): number {
    let room = this.heldFrom(grant.id) - owedBy(grant);
    let taken = 0;
    const collectedFor: Array<{ revocationKey: string; credits: number }> = [];
    for (const debt of grant.debts) {
      const cut = debt.cut ?? 0;
      const now = Math.min(cut, grant.remaining - taken);
      const later = Math.min(cut - now, Math.max(room, 0));
      if (now + later === 0) continue;
      debt.collected += now;
      debt.owed += later;
      setCut(debt, cut - now - later);
      room -= later;
      taken += now;
      if (now > 0) collectedFor.push({ revocationKey: debt.revocationKey, credits: now });
      this.debtsChanged(grant);
    }
    return this.recordCollection(accountId, grant, taken, collectedFor, 'given back by a restoration: taken for a refund or dispute it had fallen short of');
  }

  /** Takes `taken` credits of the grant for the revocations `collectedFor` names, in an `adjustment` entry (none for 0). Returns the number of entries written. */
  private recordCollection(accountId: string, grant: GrantState, taken: number, collectedFor: Array<{ revocationKey: string; credits: number }>, reason: string): number {
    if (taken === 0) return 0;
    grant.remaining -= taken;
    this.changes.changedGrants.add(grant);
    this.record(accountId, 'adjustment', {
      amount: -taken,
      heldChange: 0,
      grantId: grant.id,
      allocations: [{ grantId: grant.id, amount: taken }],
      reason,
      metadata: { collected: taken, collectedFor },
    });
    return 1;
  }

  /** Credits of a grant that its active holds hold. */
  private heldFrom(grantId: string): number {
    let held = 0;
    for (const hold of this.holds.values()) {
      if (hold.status !== 'active') continue;
      for (const allocation of hold.allocations) if (allocation.grantId === grantId) held += allocation.amount;
    }
    return held;
  }

  private debtsChanged(grant: GrantState): void {
    this.changes.changedGrants.add(grant);
    this.changes.changedDebts.add(grant);
  }

  private closeHold(hold: HoldState, status: HoldState['status'], captured: number | null): void {
    hold.status = status;
    hold.capturedAmount = captured;
    hold.settledAt = this.now;
    this.changes.changedHolds.add(hold);
  }

  private grant(id: string): GrantState | undefined {
    return this.grants.find((g) => g.id === id);
  }

  private record(
    accountId: string,
    kind: EntryKind,
    fields: { amount: number; heldChange: number; grantId?: string; holdId?: string; allocations?: Allocation[]; reason?: string | null; metadata?: Record<string, unknown> | null },
  ): number {
    const entry: NewEntry = {
      accountId,
      kind,
      amount: fields.amount,
      heldChange: fields.heldChange,
      availableAfter: this.ledgerAvailable(),
      heldAfter: this.held(),
      grantId: fields.grantId ?? null,
      holdId: fields.holdId ?? null,
      allocations: fields.allocations ?? null,
      reason: fields.reason ?? null,
      metadata: fields.metadata ?? null,
    };
    this.changes.entries.push(entry);
    return this.changes.entries.length - 1;
  }
}
