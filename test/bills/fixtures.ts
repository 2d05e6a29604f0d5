import { eventually, type TestApp } from '../helper.js';

export async function account(ctx: TestApp, accountId = 'acct_org') {
  await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com`, name: 'Org Inc.' });
}

export async function createBill(ctx: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const reply = await ctx.call('POST', '/v1/bills', { accountId: 'acct_org', name: 'Onboarding', amount: 250_000, currency: 'usd', ...body }, { key: ctx.serviceKey, ...headers });
  if (reply.status !== 201) throw new Error(`bill: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; status: string; url: string; expiresAt: string; checkoutSessionId: string; credits: number | null };
}

export async function billOf(ctx: TestApp, id: string) {
  return (await ctx.call('GET', `/v1/bills/${id}`)).body;
}

export async function waitForBill(ctx: TestApp, id: string, status: string) {
  return eventually(async () => {
    const bill = await billOf(ctx, id);
    return bill.status === status && bill;
  });
}

export async function counts(ctx: TestApp) {
  const { rows } = await ctx.database.pool.query('SELECT (SELECT count(*) FROM bills)::int AS bills, (SELECT count(*) FROM checkouts)::int AS checkouts');
  return rows[0] as { bills: number; checkouts: number };
}

export async function grantsOf(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query('SELECT id, source_key, amount, expires_at FROM grants WHERE account_id = $1 ORDER BY created_at', [accountId]);
  return rows as Array<{ id: string; source_key: string; amount: number; expires_at: Date | null }>;
}
