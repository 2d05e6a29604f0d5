import type { TestApp } from '../helper.js';
import { key } from '../helper.js';

/** An account and a 500-credit pack for $5, created through the API. */
export async function accountAndPack(ctx: TestApp, accountId = 'acct_buyer') {
  const account = await ctx.call('PUT', `/v1/accounts/${accountId}`, { email: `${accountId}@example.com`, name: 'Buyer' });
  const pack = await ctx.call('POST', '/v1/packs', { name: 'Starter', credits: 500, unitAmount: 500, currency: 'usd' }, { 'idempotency-key': key('pack') });
  if (pack.status !== 201) throw new Error(`pack: ${JSON.stringify(pack.body)}`);
  return { account: account.body, pack: pack.body };
}

export async function openCheckout(ctx: TestApp, accountId: string, packId: string, extra: Record<string, unknown> = {}) {
  const reply = await ctx.call('POST', '/v1/checkout/sessions', { accountId, packId, ...extra }, { key: ctx.serviceKey });
  if (reply.status !== 201) throw new Error(`checkout: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; url: string; expiresAt: string };
}

export async function grantsOf(ctx: TestApp, accountId: string) {
  const { rows } = await ctx.database.pool.query('SELECT id, source, source_key, amount FROM grants WHERE account_id = $1', [accountId]);
  return rows;
}
