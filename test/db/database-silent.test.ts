import t from 'tap';
import pg from 'pg';
import { build, eventually, key, ledgerSum, serverUrl, signedEvent, type TestApp } from '../helper.js';
import { grantsOf, paidSession, postEvent } from '../stripe/fixtures.js';
import { accountAndPlan, subscribe } from '../subscriptions/fixtures.js';
import { createTestDatabase } from '../database.js';
import { startSilentProxy } from '../silent-proxy.js';

const spend = (ctx: TestApp, accountId: string, amount: number, idempotencyKey: string) => ctx.call('POST', `/v1/accounts/${accountId}/spend`, { amount }, { 'idempotency-key': idempotencyKey });

async function funded(ctx: TestApp, accountId: string, amount: number): Promise<void> {
  await ctx.call('PUT', `/v1/accounts/${accountId}`, {});
  await ctx.call('POST', `/v1/accounts/${accountId}/grants`, { amount }, { 'idempotency-key': key() });
}

/** 503s whose log line gives the silence gate's refusal as the reason: refused without asking the database. */
const refusedAtOnce = (ctx: TestApp) => ctx.logs.filter((line) => line.includes('"msg":"the database did not answer"') && line.includes('The database has not answered since')).length;

/** Status and error code of each answer, and Retry-After. */
/**
 * The silence gate's own line when the database answers again. Each background task says the same
 * words after its name ("stripe event retry sweep: the database answers again"), at its own moment.
 */
const GATE_ANSWERS_AGAIN = '"msg":"the database answers again"';

const refusals = (answers: Array<{ status: number; body: any; headers: Record<string, unknown> }>) => answers.map((a) => `${a.status} ${a.body.error?.code} ${a.headers['retry-after']}`);

t.test('while the database is silent (packets dropped, not refused) every request that needs it is a 503 database_unavailable, each ledger command tried once, and Tally serves again once it answers', async (t) => {
  const proxy = await startSilentProxy(await createTestDatabase(await serverUrl(t)));
  t.teardown(() => proxy.close());
  const ctx = await build(t, { databaseUrl: proxy.url, env: { DATABASE_TIMEOUT_MS: '1000' } });
  await funded(ctx, 'acct_silent', 100);
  t.equal((await spend(ctx, 'acct_silent', 10, key())).body.available, 90);
  const paid = signedEvent(ctx.stripe, 'checkout.session.completed', await paidSession(ctx), { id: 'evt_while_silent' });
  const said = (words: string) => ctx.logs.filter((line) => line.includes(words)).length;

  proxy.silence();
  const before = ctx.app.ledger.batchStats();
  const keys = Array.from({ length: 30 }, () => key());
  const spends = await Promise.all(keys.map((k) => spend(ctx, 'acct_silent', 1, k)));
  t.same(refusals(spends), keys.map(() => '503 database_unavailable 1'), 'every spend: a 503 to send again');
  t.equal(ctx.app.ledger.batchStats().commands - before.commands, keys.length, 'each spend was tried once: a batch the database did not answer is not run again command by command, each waiting as long');
  const others = await Promise.all([
    ctx.call('GET', '/v1/accounts/acct_silent/balance'),
    ctx.call('POST', '/v1/accounts/acct_silent/holds', { amount: 5 }, { 'idempotency-key': key() }),
    ctx.call('GET', '/v1/accounts/acct_silent/ledger'),
    ctx.call('PUT', '/v1/accounts/acct_silent', { metadata: { plan: 'pro' } }),
    ctx.call('POST', '/v1/packs', { name: 'Silent', credits: 10, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': key() }),
    ctx.call('GET', '/readyz'),
  ]);
  t.same(refusals(others), others.map(() => '503 database_unavailable 1'), 'a balance read, a hold, the ledger, an account update (Prisma), a pack, readiness: each a 503');
  t.equal(said('the database does not answer: every request that needs it is a 503 at once'), 1, 'the silence was noticed, and said once');
  t.ok(refusedAtOnce(ctx) >= others.length - 1, 'the requests after it were refused at once, without waiting for the database (/readyz logs no 503 line)');
  const webhook = await postEvent(ctx, paid);
  t.same({ status: webhook.statusCode, code: webhook.json().error?.code }, { status: 503, code: 'database_unavailable' }, 'a Stripe event is a 503: Stripe sends it again later');
  // The retry sweep for Stripe events runs every 200 ms here, and fails each time while the database is silent.
  await eventually(async () => said('stripe event retry sweep: the database does not answer') > 0);
  t.notOk(ctx.logs.some((line) => line.includes('"level":50')), 'nothing logged as an error: no unhandled error, no failed sweep every interval');
  t.equal(said('stripe event retry sweep: the database does not answer'), 1, 'the retry sweep says once (a warning) that the database does not answer');

  proxy.heal();
  await eventually(async () => said(GATE_ANSWERS_AGAIN) === 1);
  const resent = await Promise.all(keys.map((k) => spend(ctx, 'acct_silent', 1, k)));
  t.same(
    resent.map((a) => a.status),
    keys.map(() => 200),
    'each spend sent again with its key goes through once the database answers, with no restart',
  );
  t.equal((await ctx.call('GET', '/v1/accounts/acct_silent/balance')).body.available, 60, 'each applied once');
  t.same(await ledgerSum(ctx.database, 'acct_silent'), { available: 60, held: 0, entries: 32 }, 'the ledger: the grant and 31 spends, nothing half-applied');
  await eventually(async () => said('stripe event retry sweep: the database answers again') === 1);
  t.equal((await postEvent(ctx, paid)).statusCode, 200, "Stripe's redelivery is taken");
  await eventually(async () => (await grantsOf(ctx, 'acct_buyer')).length === 1);
  t.equal((await ctx.call('GET', '/v1/accounts/acct_buyer/balance')).body.available, 500, 'the paid checkout granted its credits once');
});

t.test('a transaction left open by a Tally that stopped (frozen, or cut off) is ended by PostgreSQL with its locks, and the spends that waited for them go through', async (t) => {
  const ctx = await build(t, { env: { DATABASE_TIMEOUT_MS: '2000' } });
  await funded(ctx, 'acct_frozen', 100);
  // One of Tally's own connections, as a Tally that stopped right after locking the account leaves it.
  const stuck = await ctx.database.pool.connect();
  const ended = new Promise<Error>((resolve) => stuck.on('error', resolve));
  await stuck.query('BEGIN');
  await stuck.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', ['acct_frozen']);

  const spent = await spend(ctx, 'acct_frozen', 10, key());
  t.same({ status: spent.status, available: spent.body.available }, { status: 200, available: 90 }, `the spend waited for the lock, then went through: ${JSON.stringify(spent.body)}`);
  t.match((await ended).message, /idle-in-transaction timeout/, 'the stopped transaction was ended by PostgreSQL');
  stuck.release(true);
  t.same(await ledgerSum(ctx.database, 'acct_frozen'), { available: 90, held: 0, entries: 2 }, 'the ledger sums to the balance');
});

t.test('a request that waits for a lock longer than the timeout is a 503 database_unavailable, each ledger command tried once, and goes through once sent again', async (t) => {
  const ctx = await build(t, { env: { DATABASE_TIMEOUT_MS: '1000' } });
  await funded(ctx, 'acct_locked', 100);
  // Another program's session, with no time limits of its own, keeps the account locked.
  const other = new pg.Client({ connectionString: ctx.databaseUrl });
  await other.connect();
  t.teardown(() => other.end());
  await other.query('BEGIN');
  await other.query('SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE', ['acct_locked']);

  const before = ctx.app.ledger.batchStats();
  const keys = Array.from({ length: 5 }, () => key());
  const answers = await Promise.all([...keys.map((k) => spend(ctx, 'acct_locked', 1, k)), ctx.call('PUT', '/v1/accounts/acct_locked', { metadata: { plan: 'pro' } })]);
  t.same(refusals(answers), answers.map(() => '503 database_unavailable 1'), 'five spends and an account update (Prisma): each a 503');
  t.equal(ctx.app.ledger.batchStats().commands - before.commands, keys.length, 'each spend was tried once');
  t.notOk(ctx.app.db.silence.silent, 'a statement cancelled at its time limit is an answer: the database is not taken for silent');

  await other.query('ROLLBACK');
  const resent = await Promise.all(keys.map((k) => spend(ctx, 'acct_locked', 1, k)));
  t.same(
    resent.map((a) => a.status),
    keys.map(() => 200),
    'sent again with their keys once the lock is gone: applied',
  );
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_locked', { metadata: { plan: 'pro' } })).status, 200, 'the update too');
  t.same(await ledgerSum(ctx.database, 'acct_locked'), { available: 95, held: 0, entries: 6 }, 'each spend applied once');
});

t.test('a database that falls silent while Stripe events are processed right after their 2xx: one warning, no error per event', async (t) => {
  const proxy = await startSilentProxy(await createTestDatabase(await serverUrl(t)));
  t.teardown(() => proxy.close());
  const ctx = await build(t, { databaseUrl: proxy.url, env: { DATABASE_TIMEOUT_MS: '1000' } });
  const { plan } = await accountAndPlan(ctx);
  const { subscriptionId, invoiceId } = await subscribe(ctx, 'acct_org', plan.id);
  const invoice = await ctx.stripe.invoices.retrieve(invoiceId);
  // A failed payment makes Tally ask Stripe for the subscription; Stripe answers 3 s late: time for
  // the database to fall silent after the events are stored and acknowledged, before they are recorded.
  ctx.simulator.failNext({ method: 'GET', path: `/v1/subscriptions/${subscriptionId}`, delayMs: 3000, count: 3 });
  const answers = [];
  for (const id of ['evt_unpaid_1', 'evt_unpaid_2', 'evt_unpaid_3']) answers.push(await postEvent(ctx, signedEvent(ctx.stripe, 'invoice.payment_failed', invoice, { id })));
  t.same(
    answers.map((a) => a.statusCode),
    [200, 200, 200],
    'stored, and acknowledged to Stripe',
  );
  proxy.silence();
  const said = (words: string) => ctx.logs.filter((line) => line.includes(words)).length;
  await eventually(async () => said('stripe event processing failed; will retry') === 3);
  // Each handler failed; then writing down each failure meets the silent database too, within the
  // timeout and its 2 s for an answer: every event's processing has ended 4 s later.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await eventually(async () => said('stripe event processing: the database does not answer') > 0); // a slow machine may take longer
  t.notOk(ctx.logs.some((line) => line.includes('"level":50')), 'nothing logged as an error');
  t.equal(said('stripe event processing: the database does not answer'), 1, 'the processing says once that the database does not answer');
});

t.test('once the database has gone silent, every request that needs it is refused at once, until a probe finds it answering again', async (t) => {
  const proxy = await startSilentProxy(await createTestDatabase(await serverUrl(t)));
  t.teardown(() => proxy.close());
  const ctx = await build(t, { databaseUrl: proxy.url, env: { DATABASE_TIMEOUT_MS: '2000' } });
  await funded(ctx, 'acct_gate', 100);
  const silentGauge = async () => Number(/^tally_database_silent (\d)/m.exec((await ctx.call('GET', '/metrics')).body)?.[1]);
  t.equal(await silentGauge(), 0, 'the metric: answering');

  proxy.silence();
  const first = await spend(ctx, 'acct_gate', 1, key());
  t.same(refusals([first]), ['503 database_unavailable 1'], 'the spend that meets the silence: a 503 after the timeout');
  t.ok(ctx.app.db.silence.silent, 'the silence is known');
  t.equal(await silentGauge(), 1, 'the metric says so');

  const before = { commands: ctx.app.ledger.batchStats().commands, refused: refusedAtOnce(ctx) };
  const started = Date.now();
  const keys = Array.from({ length: 20 }, () => key());
  const answers = await Promise.all([
    ...keys.map((k) => spend(ctx, 'acct_gate', 1, k)),
    ctx.call('GET', '/v1/accounts/acct_gate/balance'),
    ctx.call('PUT', '/v1/accounts/acct_gate', { metadata: { plan: 'pro' } }),
  ]);
  t.comment(`${answers.length} requests answered in ${Date.now() - started} ms (DATABASE_TIMEOUT_MS 2000)`);
  t.same(refusals(answers), answers.map(() => '503 database_unavailable 1'), 'twenty spends, a balance read, an account update (Prisma): each a 503');
  t.equal(refusedAtOnce(ctx) - before.refused, answers.length, 'each refused by the gate, without waiting for the database');
  t.equal(ctx.app.ledger.batchStats().commands - before.commands, keys.length, 'each spend tried once');

  proxy.heal();
  await eventually(async () => !ctx.app.db.silence.silent);
  t.equal(ctx.logs.filter((line) => line.includes(GATE_ANSWERS_AGAIN)).length, 1, 'its return is said once');
  t.equal(await silentGauge(), 0, 'the metric: answering again');
  const resent = await Promise.all(keys.map((k) => spend(ctx, 'acct_gate', 1, k)));
  t.same(
    resent.map((a) => a.status),
    keys.map(() => 200),
    'each spend sent again with its key goes through',
  );
  t.same(await ledgerSum(ctx.database, 'acct_gate'), { available: 80, held: 0, entries: 21 }, 'each applied once: the grant and twenty spends');
});
