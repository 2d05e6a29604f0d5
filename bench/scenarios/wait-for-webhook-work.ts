import type pg from 'pg';

/** Milliseconds until every account holds a grant, polling every 50 ms; undefined after `timeoutMs`. */
export async function waitForGrants(db: pg.Client, accountIds: string[], startedAt: number, timeoutMs: number): Promise<number | undefined> {
  while (Date.now() - startedAt < timeoutMs) {
    const { rows } = await db.query<{ n: string }>('SELECT count(DISTINCT account_id) AS n FROM grants WHERE account_id = ANY($1::text[])', [accountIds]);
    if (Number(rows[0].n) >= accountIds.length) return Date.now() - startedAt;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

/** Waits until none of the events is pending or failed (failures are retried by Tally); returns the count by status. */
export async function waitForEventsSettled(db: pg.Client, eventIds: string[], timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ status: string; n: string; retried: string }>(
      `SELECT status::text, count(*) AS n, count(*) FILTER (WHERE attempts > 1) AS retried FROM stripe_events WHERE id = ANY($1::text[]) GROUP BY status`,
      [eventIds],
    );
    const byStatus: Record<string, number> = {};
    for (const row of rows) {
      byStatus[row.status] = Number(row.n);
      if (Number(row.retried)) byStatus[`${row.status}, retried`] = Number(row.retried);
    }
    const unsettled = (byStatus.pending ?? 0) + (byStatus.failed ?? 0);
    if (unsettled === 0 || Date.now() > deadline) return byStatus;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
