import type { Pool } from 'pg';
import { NotFoundFailure, ValidationFailure } from '../../errors.js';
import { accountHolds, findHold, type HoldStatus, type StoredHold } from '../../db/hold-queries.js';
import { holdView } from './apply-commands.js';
import type { HoldResult, HoldView } from './types.js';

/**
 * Reads holds as the balance counts them: a hold past its time is `expired` at once, before the
 * sweeper (or the account's next ledger batch) writes its release entry (until then its `settledAt`
 * is null), and a capture of it is refused. Reads go to PostgreSQL, which the ledger commits to
 * before it acknowledges a hold, capture or release, so a read never misses one already acknowledged.
 */
export class HoldReader {
  constructor(private readonly pool: Pool) {}

  async get(holdId: string): Promise<HoldView> {
    const hold = await findHold(this.pool, holdId);
    if (!hold) throw new NotFoundFailure('hold', holdId);
    return holdDetails(hold);
  }

  /**
   * The result of a hold, capture or release with the hold's metadata: one kept for its key before
   * results carried it (replayed within the key's retention) has none, and the hold has it.
   */
  async withMetadata(result: HoldResult): Promise<HoldResult> {
    if (result.hold.metadata) return result;
    const { metadata } = await this.get(result.hold.id);
    return { ...result, hold: { ...result.hold, metadata } };
  }

  /**
   * The account's holds of one status as a read shows it, oldest first (the active ones make up the
   * account's `held` balance); `cursor` is the last hold id of the previous page.
   */
  async list(accountId: string, status: HoldStatus, limit: number, cursor?: string): Promise<{ holds: HoldView[]; nextCursor: string | null }> {
    const { accountExists, afterKnown, holds } = await accountHolds(this.pool, accountId, status, limit + 1, cursor);
    if (!accountExists) throw new NotFoundFailure('account', accountId);
    // An unknown cursor would otherwise read as the end of the list.
    if (!afterKnown) throw new ValidationFailure('invalid_request', 'cursor must be a cursor returned by a previous page of this account', { field: 'querystring.cursor' });
    const page = holds.slice(0, limit);
    return { holds: page.map(holdDetails), nextCursor: holds.length > limit ? page[page.length - 1].id : null };
  }
}

function holdDetails(hold: StoredHold): HoldView {
  return { ...holdView(hold), status: hold.lapsed ? 'expired' : hold.status };
}
