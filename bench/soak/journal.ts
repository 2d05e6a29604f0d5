import { isDeepStrictEqual } from 'node:util';
import type { TallyResponse } from '../tally-client.js';

/** A keyed request that was acknowledged (2xx): what a replay of it must answer. */
export interface Acknowledged {
  method: string;
  path: string;
  body: Record<string, unknown>;
  key: string;
  status: number;
  response: unknown;
}

export interface HoldRecord {
  id: string;
  accountId: string;
  amount: number;
  /** Acknowledged settlements: a capture's amount and entry, a release's entry. */
  captured?: { amount: number; entryId: string };
  released?: { entryId: string };
}

/**
 * Everything the soak was answered, kept as far as the final checks need it: the acknowledged keyed
 * requests (for replays), spends, holds and their settlements; and what was wrong the moment it was
 * answered (a 5xx, an answer no client should get, a negative balance, a replay not answered alike).
 */
export class Journal {
  readonly counts: Record<string, number> = {};
  readonly statuses: Record<string, number> = {};
  readonly violations: string[] = [];
  readonly acknowledged: Acknowledged[] = [];
  /** Acknowledged spends by entry id: account and amount. */
  readonly spends = new Map<string, { accountId: string; amount: number }>();
  readonly holds = new Map<string, HoldRecord>();
  /** The latest instant anything acknowledged expires at (ms). */
  latestExpiry = 0;

  count(op: string): void {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
  }

  violation(message: string): void {
    if (this.violations.length < 200) this.violations.push(message);
  }

  /** Checks what every answer must be: one of the statuses expected, never a 5xx, no balance below zero. */
  answered(op: string, request: string, reply: TallyResponse, expected: number[]): void {
    this.statuses[`${op} ${reply.status}`] = (this.statuses[`${op} ${reply.status}`] ?? 0) + 1;
    if (reply.status >= 500) this.violation(`${request}: ${reply.status} ${JSON.stringify(reply.body)}`);
    else if (!expected.includes(reply.status)) this.violation(`${request}: unexpected ${reply.status} ${JSON.stringify(reply.body)}`);
    const body = reply.body ?? {};
    for (const value of [body.available, body.held, body.error?.details?.available]) {
      if (typeof value === 'number' && value < 0) this.violation(`${request}: a balance below zero: ${JSON.stringify(body)}`);
    }
  }

  /** A replay of `first` answered `reply`: the first answer, marked replayed. */
  replayed(first: Acknowledged, reply: TallyResponse, where: string): void {
    if (reply.status !== first.status || !isDeepStrictEqual(reply.body, first.response)) {
      this.violation(`replay of ${first.method} ${first.path} (key ${first.key}) on ${where}: ${reply.status} ${JSON.stringify(reply.body)}, first ${first.status} ${JSON.stringify(first.response)}`);
    } else if (reply.headers.get('idempotent-replayed') !== 'true') {
      this.violation(`replay of key ${first.key}: the first answer, without idempotent-replayed`);
    }
  }

  /** A capture or release of a hold was acknowledged as new: a hold is settled once. */
  settled(holdId: string, how: 'captured' | 'released', entryId: string, amount = 0): void {
    const hold = this.holds.get(holdId);
    if (!hold) return;
    if (hold.captured || hold.released) {
      this.violation(`hold ${holdId} ${how} (entry ${entryId}) after it was ${hold.captured ? `captured (entry ${hold.captured.entryId})` : `released (entry ${hold.released!.entryId})`}`);
    }
    if (how === 'captured') hold.captured = { amount, entryId };
    else hold.released = { entryId };
  }

  expiresAt(ms: number): void {
    this.latestExpiry = Math.max(this.latestExpiry, ms);
  }
}
