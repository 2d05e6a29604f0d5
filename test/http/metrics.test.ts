import t from 'tap';
import { build, key, type TestApp } from '../helper.js';

/** The scrape as series → value: `name{label="value",...}` exactly as Prometheus's text format writes it. */
async function scrape(ctx: TestApp): Promise<Map<string, number>> {
  const response = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ctx.config.TALLY_ADMIN_KEY}` } });
  if (response.statusCode !== 200) throw new Error(`GET /metrics: ${response.statusCode} ${response.body}`);
  const series = new Map<string, number>();
  for (const line of response.body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

const responses = (method: string, route: string, status: number) =>
  `tally_http_request_duration_seconds_count{method="${method}",route="${route}",status_code="${status}"}`;

t.test('GET /metrics needs an admin key and answers in Prometheus text format', async (t) => {
  const ctx = await build(t);
  const none = await ctx.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.equal(none.json().error.code, 'unauthorized');
  const service = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ctx.serviceKey}` } });
  t.equal(service.statusCode, 403, 'a service key may not read them');
  const admin = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ctx.config.TALLY_ADMIN_KEY}` } });
  t.equal(admin.statusCode, 200);
  t.equal(admin.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  t.match(admin.body, /^# HELP tally_http_request_duration_seconds /m, 'text, not a JSON string');
  const series = await scrape(ctx);
  t.ok(series.get('process_resident_memory_bytes')! > 0, "Node's own metrics");
  t.ok(series.has('nodejs_eventloop_lag_p99_seconds'));
  t.ok(series.get('tally_db_pool_connections{state="open"}')! >= 1, 'the pool: open connections');
  t.equal(series.get('tally_db_pool_connections{state="waiting"}'), 0);
  t.equal(series.get(responses('GET', '/metrics', 401)), 1, 'the refused scrapes are counted too');
  t.equal(series.get(responses('GET', '/metrics', 403)), 1);
});

t.test('responses by route and status, and the ledger commands behind them', async (t) => {
  const ctx = await build(t);
  t.equal((await ctx.call('PUT', '/v1/accounts/acct_metrics', {})).status, 201);
  const before = await scrape(ctx);
  t.equal((await ctx.call('POST', '/v1/accounts/acct_metrics/grants', { amount: 5 }, { 'idempotency-key': key() })).status, 201);
  for (const expected of [200, 200, 402]) {
    t.equal((await ctx.call('POST', '/v1/accounts/acct_metrics/spend', { amount: 2 }, { 'idempotency-key': key() })).status, expected);
  }
  t.equal((await ctx.call('GET', '/v1/accounts/acct_metrics/balance')).status, 200);
  t.equal((await ctx.call('GET', '/v1/nowhere')).status, 404);
  const after = await scrape(ctx);

  t.equal(after.get(responses('POST', '/v1/accounts/:accountId/spend', 200)), 2, 'by the route pattern, not the URL');
  t.equal(after.get(responses('POST', '/v1/accounts/:accountId/spend', 402)), 1, 'the refused spend, apart');
  t.equal(after.get(responses('POST', '/v1/accounts/:accountId/grants', 201)), 1);
  t.equal(after.get(responses('GET', '/v1/accounts/:accountId/balance', 200)), 1);
  t.equal(after.get(responses('PUT', '/v1/accounts/:accountId', 201)), 1);
  t.equal(after.get(responses('GET', 'unmatched', 404)), 1, 'unknown URLs share one series');
  t.equal(
    after.get('tally_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/accounts/:accountId/spend",status_code="200"}'),
    2,
    'with their durations',
  );
  const delta = (name: string) => after.get(name)! - (before.get(name) ?? 0);
  t.equal(delta('tally_ledger_commands_total'), 4, 'one grant and three spends went through the ledger');
  t.ok(delta('tally_ledger_batches_total') >= 1 && delta('tally_ledger_batches_total') <= 4, 'in at most four transactions');
  t.equal(delta('tally_ledger_failed_batches_total'), 0);
  t.equal(after.get('tally_ledger_commands_waiting'), 0);
  t.ok(after.has('tally_ledger_cache_decided_total') && after.has('tally_ledger_cache_accounts'), 'and the account cache');
});

t.test('the Stripe events not yet processed, by status, with the age of the oldest', async (t) => {
  const ctx = await build(t);
  const empty = await scrape(ctx);
  t.equal(empty.get('tally_webhook_events_backlog{status="pending"}'), 0);
  t.equal(empty.get('tally_webhook_events_backlog{status="failed"}'), 0);
  t.equal(empty.get('tally_webhook_events_oldest_seconds{status="pending"}'), 0);

  // Rows as the webhook route and the worker leave them: one received 90 s ago and not yet done, two
  // failed and waiting for a retry, one processed (not backlog). None is due, so the retry worker
  // leaves them where they are.
  await ctx.database.pool.query(
    `INSERT INTO stripe_events (id, type, created, payload, status, received_at, next_attempt_at) VALUES
       ('evt_m1', 'invoice.paid', 1, '{}', 'pending', now() - interval '90 seconds', now() + interval '1 hour'),
       ('evt_m2', 'invoice.paid', 1, '{}', 'failed', now() - interval '5 seconds', now() + interval '1 hour'),
       ('evt_m3', 'invoice.paid', 1, '{}', 'failed', now() - interval '30 seconds', now() + interval '1 hour'),
       ('evt_m4', 'invoice.paid', 1, '{}', 'processed', now() - interval '1 day', now())`,
  );
  const series = await scrape(ctx);
  t.equal(series.get('tally_webhook_events_backlog{status="pending"}'), 1);
  t.equal(series.get('tally_webhook_events_backlog{status="failed"}'), 2);
  t.ok(series.get('tally_webhook_events_oldest_seconds{status="pending"}')! >= 90, 'the pending one is 90 s old');
  const failed = series.get('tally_webhook_events_oldest_seconds{status="failed"}')!;
  t.ok(failed >= 30 && failed < 90, `the older failed one is 30 s old (${failed})`);
});
