import t, { type Test } from 'tap';
import pg from 'pg';
import { withClockAhead } from '../clock-ahead.js';
import { build, key, ledgerSum, type TestApp } from '../helper.js';
import { Ledger } from '../../src/domain/ledger/ledger.js';

// Spends, holds, captures and releases on an account this process wrote last are decided on the
// state it kept, and PostgreSQL checks that nothing has changed since (account-cache.ts). These
// tests make that guess wrong in each way it can be, and check that the outcome is what a load
// would have decided.

/** A fresh app and an account with one grant; `expiresInMs` counts from once the app is built (a build may take a second). */
async function funded(t: Test, account: string, amount: number, { expiresInMs }: { expiresInMs?: number } = {}): Promise<TestApp> {
  const ctx = await build(t);
  await ctx.call('PUT', `/v1/accounts/${account}`, {});
  const expiresAt = expiresInMs === undefined ? undefined : new Date(Date.now() + expiresInMs).toISOString();
  t.equal((await ctx.call('POST', `/v1/accounts/${account}/grants`, { amount, expiresAt }, { 'idempotency-key': key() })).status, 201);
  return ctx;
}

const spend = (ctx: TestApp, account: string, amount: number, k = key()) => ctx.call('POST', `/v1/accounts/${account}/spend`, { amount }, { 'idempotency-key': k });

async function agrees(t: Test, ctx: TestApp, account: string, available: number, held = 0) {
  const balance = (await ctx.call('GET', `/v1/accounts/${account}/balance`)).body;
  const sum = await ledgerSum(ctx.database, account);
  t.equal(balance.available, available, 'the balance');
  t.equal(Number(sum.available), available, 'the ledger sums to it');
  t.equal(Number(sum.held), held, 'and to what is held');
}

t.test('spends after the first on an account are decided on its kept state, each as a load would decide it', async (t) => {
  const ctx = await funded(t, 'acct_kept', 100);
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await spend(ctx, 'acct_kept', 7));
  t.same(replies.map((r) => [r.status, r.body.available]), [[200, 93], [200, 86], [200, 79], [200, 72], [200, 65]]);
  t.ok(ctx.app.ledger.cacheStats().decided >= 4, 'the spends after the grant needed no load');
  t.equal(new Set(replies.map((r) => r.body.entryId)).size, 5, 'each its own entry');
  const refused = await spend(ctx, 'acct_kept', 66);
  t.equal(refused.status, 402, 'a spend beyond the kept balance is refused');
  t.same(refused.body.error.details, { available: 65, required: 66 });
  await agrees(t, ctx, 'acct_kept', 65);
});

t.test('a change made by another process is never overlooked: the kept state is refused, and the batch loads', async (t) => {
  const a = await funded(t, 'acct_two_kept', 100);
  const b = await build(t, { databaseUrl: a.databaseUrl });
  t.equal((await spend(a, 'acct_two_kept', 10)).status, 200, 'A keeps the account');
  t.equal((await spend(b, 'acct_two_kept', 85)).body.available, 5, 'B spends most of what is left');

  const refusedBefore = a.app.ledger.cacheStats().refused;
  const late = await spend(a, 'acct_two_kept', 10);
  t.equal(late.status, 402, 'A does not spend credits B took');
  t.same(late.body.error.details, { available: 5, required: 10 });
  t.equal(a.app.ledger.cacheStats().refused, refusedBefore + 1, 'PostgreSQL refused the kept state');
  t.equal((await spend(a, 'acct_two_kept', 5)).body.available, 0, 'and A goes on from the loaded one');

  // A grant made elsewhere is seen too: B grants, A spends it.
  await b.call('POST', '/v1/accounts/acct_two_kept/grants', { amount: 30 }, { 'idempotency-key': key() });
  t.equal((await spend(a, 'acct_two_kept', 30)).body.available, 0);
  await agrees(t, a, 'acct_two_kept', 0);
});

t.test('two processes spending on the same accounts at once never overdraw them', async (t) => {
  const a = await funded(t, 'acct_mix_0', 100);
  const b = await build(t, { databaseUrl: a.databaseUrl });
  for (const account of ['acct_mix_1', 'acct_mix_2']) {
    await a.call('PUT', `/v1/accounts/${account}`, {});
    await a.call('POST', `/v1/accounts/${account}/grants`, { amount: 100 }, { 'idempotency-key': key() });
  }
  const accounts = ['acct_mix_0', 'acct_mix_1', 'acct_mix_2'];
  // Rounds of concurrent spends, each process answering half, so that each keeps states the other changes.
  const statuses: number[] = [];
  for (let round = 0; round < 8; round++) {
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => spend(i % 2 ? a : b, accounts[i % 3], 2)));
    statuses.push(...replies.map((r) => r.status));
  }
  t.equal(statuses.filter((s) => s === 200).length, 150, 'exactly the 300 credits were spent, 2 at a time');
  t.equal(statuses.filter((s) => s === 402).length, 90, 'every other spend was refused');
  for (const account of accounts) await agrees(t, a, account, 0);
  t.ok(a.app.ledger.cacheStats().decided + b.app.ledger.cacheStats().decided > 0, 'some batches were decided on kept states');
});

t.test('a retried key on a kept account replays its first answer; with another request it is refused', async (t) => {
  const ctx = await funded(t, 'acct_kept_retry', 50);
  await spend(ctx, 'acct_kept_retry', 1);
  const k = key('retry');
  const first = await spend(ctx, 'acct_kept_retry', 4, k);
  const again = await spend(ctx, 'acct_kept_retry', 4, k);
  t.equal(again.status, 200);
  t.same(again.body, first.body, 'the same answer');
  t.equal(again.headers['idempotent-replayed'], 'true');
  const other = await spend(ctx, 'acct_kept_retry', 5, k);
  t.equal(other.status, 409);
  t.equal(other.body.error.code, 'idempotency_key_reused');
  await agrees(t, ctx, 'acct_kept_retry', 45);
  t.equal((await ledgerSum(ctx.database, 'acct_kept_retry')).entries, 3, 'the grant and two spends');
});

t.test('holds, captures and releases on a kept account', async (t) => {
  const ctx = await funded(t, 'acct_kept_holds', 100);
  await spend(ctx, 'acct_kept_holds', 10);
  const decided = ctx.app.ledger.cacheStats().decided;
  const hold = await ctx.call('POST', '/v1/accounts/acct_kept_holds/holds', { amount: 40 }, { 'idempotency-key': key() });
  t.match(hold.body, { status: 'active', amount: 40, available: 50, held: 40 });
  t.equal((await spend(ctx, 'acct_kept_holds', 51)).status, 402, 'held credits cannot be spent');
  const captured = await ctx.call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 15 });
  t.match(captured.body, { status: 'captured', capturedAmount: 15, available: 75, held: 0 });
  const second = await ctx.call('POST', '/v1/accounts/acct_kept_holds/holds', { amount: 20 }, { 'idempotency-key': key() });
  const released = await ctx.call('POST', `/v1/holds/${second.body.id}/release`, {});
  t.match(released.body, { status: 'released', available: 75, held: 0 });
  t.ok(ctx.app.ledger.cacheStats().decided >= decided + 4, 'all of them decided on the kept state');
  await agrees(t, ctx, 'acct_kept_holds', 75);
});

t.test('a hold captured by another process cannot be captured again from a kept state', async (t) => {
  const a = await funded(t, 'acct_two_holds', 100);
  const b = await build(t, { databaseUrl: a.databaseUrl });
  const hold = await a.call('POST', '/v1/accounts/acct_two_holds/holds', { amount: 30 }, { 'idempotency-key': key() });
  t.equal((await b.call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 30 })).status, 200, 'B captures it');
  const again = await a.call('POST', `/v1/holds/${hold.body.id}/capture`, { amount: 10 });
  t.equal(again.status, 409, 'A, which kept it active, finds it captured');
  t.equal(again.body.error.code, 'hold_not_active');
  await agrees(t, a, 'acct_two_holds', 70);
});

t.test('an account with a grant expiring within the margin is loaded, so its expiry is written when due', async (t) => {
  const ctx = await funded(t, 'acct_expiring', 50, { expiresInMs: 3000 });
  await ctx.call('POST', '/v1/accounts/acct_expiring/grants', { amount: 10 }, { 'idempotency-key': key() });
  t.equal((await spend(ctx, 'acct_expiring', 1)).body.available, 59);
  await new Promise((resolve) => setTimeout(resolve, 3200));
  const decided = ctx.app.ledger.cacheStats().decided;
  const after = await spend(ctx, 'acct_expiring', 20);
  t.equal(after.status, 402, 'the expired credits are gone');
  t.same(after.body.error.details, { available: 10, required: 20 });
  t.equal(ctx.app.ledger.cacheStats().decided, decided, 'decided on a load, not on the kept state');
  const expiries = await ctx.database.pool.query(`SELECT amount::int FROM ledger_entries WHERE account_id = 'acct_expiring' AND kind = 'expiry'`);
  t.same(expiries.rows, [{ amount: -49 }], 'and the expiry is in the ledger');
  await agrees(t, ctx, 'acct_expiring', 10);
});

t.test('an account whose used-up grant expiring within the margin is drawn on by an active hold is loaded: a release gives credits back to it', async (t) => {
  const ctx = await funded(t, 'acct_drawn', 10, { expiresInMs: 30_000 });
  await ctx.call('POST', '/v1/accounts/acct_drawn/grants', { amount: 100 }, { 'idempotency-key': key() });
  const hold = await ctx.call('POST', '/v1/accounts/acct_drawn/holds', { amount: 10 }, { 'idempotency-key': key() });
  t.match(hold.body, { status: 'active', available: 100, held: 10 }, 'the hold drew on the grant expiring first, using it up');
  const decided = ctx.app.ledger.cacheStats().decided;
  const released = await ctx.call('POST', `/v1/holds/${hold.body.id}/release`, {});
  t.match(released.body, { status: 'released', available: 110, held: 0 });
  t.equal(ctx.app.ledger.cacheStats().decided, decided, "decided on a load (the database's clock), not on the kept state");
  await agrees(t, ctx, 'acct_drawn', 110);
});

t.test('an account with an active hold expiring within the margin is loaded; one with a hold expiring later is decided on its kept state', async (t) => {
  const ctx = await funded(t, 'acct_hold_soon', 100);
  const later = await ctx.call('POST', '/v1/accounts/acct_hold_soon/holds', { amount: 10, expiresInSeconds: 600 }, { 'idempotency-key': key() });
  t.equal(later.status, 201);
  let decided = ctx.app.ledger.cacheStats().decided;
  t.equal((await spend(ctx, 'acct_hold_soon', 1)).body.available, 89);
  t.equal(ctx.app.ledger.cacheStats().decided, decided + 1, 'a hold expiring in ten minutes: the kept state decides');
  const soon = await ctx.call('POST', '/v1/accounts/acct_hold_soon/holds', { amount: 20, expiresInSeconds: 30 }, { 'idempotency-key': key() });
  t.match(soon.body, { status: 'active', available: 69, held: 30 });
  decided = ctx.app.ledger.cacheStats().decided;
  t.equal((await spend(ctx, 'acct_hold_soon', 1)).body.available, 68);
  t.equal(ctx.app.ledger.cacheStats().decided, decided, "a hold expiring in 30 s: decided on a load (the database's clock judges the expiry)");
  t.equal((await ctx.call('POST', `/v1/holds/${soon.body.id}/release`, {})).status, 200);
  decided = ctx.app.ledger.cacheStats().decided;
  t.equal((await spend(ctx, 'acct_hold_soon', 1)).body.available, 87);
  t.equal(ctx.app.ledger.cacheStats().decided, decided + 1, 'released, it no longer counts: the kept state decides again');
  await agrees(t, ctx, 'acct_hold_soon', 87, 10);
});

t.test('LEDGER_CACHE_ACCOUNTS=0 keeps nothing', async (t) => {
  const ctx = await build(t, { env: { LEDGER_CACHE_ACCOUNTS: '0' } });
  await ctx.call('PUT', '/v1/accounts/acct_uncached', {});
  await ctx.call('POST', '/v1/accounts/acct_uncached/grants', { amount: 10 }, { 'idempotency-key': key() });
  for (let i = 0; i < 3; i++) await spend(ctx, 'acct_uncached', 1);
  t.same(ctx.app.ledger.cacheStats(), { accounts: 0, decided: 0, refused: 0, pauses: 0 });
  await agrees(t, ctx, 'acct_uncached', 7);
});

t.test('a process whose kept states keep being refused (another writes the same accounts) stops trying them for a while, then tries again', async (t) => {
  const ctx = await funded(t, 'acct_shared', 1000);
  // Three ledgers on one database, as three processes: two keep account states, one (no cache) spends in between.
  const patient = new Ledger(ctx.database.pool, { cacheAccounts: 100, cachePauseMs: 60_000 });
  const brief = new Ledger(ctx.database.pool, { cacheAccounts: 100, cachePauseMs: 100 });
  const other = new Ledger(ctx.database.pool);
  const spendOn = (ledger: Ledger) => ledger.spend({ accountId: 'acct_shared', amount: 1 }, { key: key(), operation: 'spend', fingerprint: 'spend 1' });
  const alternate = async (ledger: Ledger, rounds: number) => {
    for (let i = 0; i < rounds; i++) {
      await spendOn(ledger);
      await spendOn(other);
    }
  };

  // The first spend loads and keeps the account; each later one finds it changed by `other`. The
  // refused share climbs 0.1, 0.19, 0.27, ... and passes a half at the seventh refusal.
  await alternate(patient, 30);
  t.same(patient.cacheStats(), { accounts: 1, decided: 0, refused: 7, pauses: 1 }, 'seven refusals, then every batch loaded, with no more wasted trips');

  await alternate(brief, 8);
  t.match(brief.cacheStats(), { refused: 7, pauses: 1 }, 'a process with a short pause pauses too');
  await new Promise((resolve) => setTimeout(resolve, 150));
  await alternate(brief, 1);
  t.match(brief.cacheStats(), { refused: 8, pauses: 1 }, 'and after it, tries its kept state again');

  await agrees(t, ctx, 'acct_shared', 1000 - 2 * (30 + 8 + 1));
});

t.test("a process whose clock is set five minutes back still judges kept states' expiries by the database's clock", async (t) => {
  const ctx = await funded(t, 'acct_behind', 50, { expiresInMs: 3000 });
  await ctx.call('POST', '/v1/accounts/acct_behind/grants', { amount: 10 }, { 'idempotency-key': key() });
  t.equal((await spend(ctx, 'acct_behind', 1)).body.available, 59, 'the account is kept');
  await new Promise((resolve) => setTimeout(resolve, 3200));
  // By the database's clock the 49 credits left of the first grant expired a moment ago. By this
  // process's clock, set back since the account was kept (or behind all along), they have four
  // minutes and more to go: past the margin, so a kept state judged by it would decide, and spend them.
  const decided = ctx.app.ledger.cacheStats().decided;
  const after = await withClockAhead(-300, () => spend(ctx, 'acct_behind', 20));
  t.equal(after.status, 402, 'the expired credits are not spent');
  t.same(after.body.error?.details, { available: 10, required: 20 });
  t.equal(ctx.app.ledger.cacheStats().decided, decided, 'decided on a load');
  await agrees(t, ctx, 'acct_behind', 10);
  const later = await withClockAhead(-300, () => spend(ctx, 'acct_behind', 4));
  t.equal(later.body.available, 6, 'and the next spend, the account kept again without the expired grant, on its kept state');
  t.equal(ctx.app.ledger.cacheStats().decided, decided + 1);
});

t.test("a load that waited long on an account's lock does not set the clock kept states are decided on ahead: holds keep the order they were placed in", async (t) => {
  const a = await funded(t, 'acct_waited', 100);
  const b = await build(t, { databaseUrl: a.databaseUrl });
  t.equal((await spend(a, 'acct_waited', 1)).status, 200, 'the account is kept');
  // Another transaction holds the account's lock for 6 s; a grant (which always loads) waits for it.
  const other = new pg.Client({ connectionString: a.databaseUrl });
  await other.connect();
  t.teardown(() => other.end());
  await other.query("BEGIN; SELECT 1 FROM accounts WHERE id = 'acct_waited' FOR UPDATE");
  const granting = a.call('POST', '/v1/accounts/acct_waited/grants', { amount: 10 }, { 'idempotency-key': key() });
  await new Promise((resolve) => setTimeout(resolve, 6000));
  await other.query('COMMIT');
  t.equal((await granting).status, 201, 'the grant waited, then was made');

  // Placed on the kept state, then by another process on a load: in that order.
  const first = await a.call('POST', '/v1/accounts/acct_waited/holds', { amount: 5, expiresInSeconds: 600 }, { 'idempotency-key': key() });
  const second = await b.call('POST', '/v1/accounts/acct_waited/holds', { amount: 5, expiresInSeconds: 600 }, { 'idempotency-key': key() });
  t.equal(a.app.ledger.cacheStats().decided, 2, 'the first on the kept state');
  const { rows } = await a.database.pool.query<{ ahead: number }>('SELECT extract(epoch FROM $1::timestamptz - clock_timestamp()) * 1000 AS ahead', [first.body.createdAt]);
  t.ok(rows[0].ahead < 500, `the first hold was not made in the database's future (${Math.round(rows[0].ahead)} ms ahead of it)`);
  const listed = await a.call('GET', '/v1/accounts/acct_waited/holds');
  t.same(listed.body.data.map((h: { id: string }) => h.id), [first.body.id, second.body.id], 'the holds list them in the order they were placed');
  await agrees(t, a, 'acct_waited', 99, 10);
});
