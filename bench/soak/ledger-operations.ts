import type { TallyClient, TallyResponse } from '../tally-client.js';
import type { HoldRecord, Journal } from './journal.js';
import type { Random } from './random.js';

export interface SoakContext {
  /** One client per Tally process, with the admin key (grants) and with a service key (the rest). */
  admins: TallyClient[];
  services: TallyClient[];
  random: Random;
  journal: Journal;
  accounts: string[];
  /** Accounts on which nothing expires within a minute: the account cache decides their batches. */
  steady: Set<string>;
  /** Grants and holds on the other accounts expire within this many seconds. */
  maxExpirySeconds: number;
  newKey(): string;
}

type Operation = (ctx: SoakContext) => Promise<void>;

/** Sends a request to one of the processes and checks the answer as every answer is checked. */
async function send(ctx: SoakContext, op: string, method: string, path: string, body: Record<string, unknown> | undefined, expected: number[], options: { key?: string; admin?: boolean; process?: number; account?: string } = {}) {
  const index = options.process ?? processFor(ctx, options.account);
  const client = (options.admin ? ctx.admins : ctx.services)[index];
  const reply = await client.request(method, path, body, options.key ? { 'idempotency-key': options.key } : {});
  ctx.journal.count(op);
  ctx.journal.answered(op, `${op} ${method} ${path} ${JSON.stringify(body ?? null)} on process ${index}`, reply, expected);
  if (options.key && reply.status < 300 && reply.headers.get('idempotent-replayed') !== 'true') {
    ctx.journal.acknowledged.push({ method, path, body: body ?? {}, key: options.key, status: reply.status, response: reply.body });
  }
  return reply;
}

/**
 * Which process a request goes to: any, except that a steady account's requests mostly go to its own
 * (the account's index modulo the processes), so that a process's kept state of it mostly holds, and
 * now and then does not (the other process wrote meanwhile).
 */
function processFor(ctx: SoakContext, account: string | undefined): number {
  if (account !== undefined && ctx.steady.has(account) && ctx.random.chance(0.9)) return ctx.accounts.indexOf(account) % ctx.admins.length;
  return ctx.random.int(0, ctx.admins.length - 1);
}

function spendRequest(ctx: SoakContext) {
  const account = ctx.random.pick(ctx.accounts);
  return { path: `/v1/accounts/${account}/spend`, body: { amount: ctx.random.int(1, 25) }, account };
}

function noteSpend(ctx: SoakContext, account: string, reply: TallyResponse) {
  if (reply.status === 200 && reply.headers.get('idempotent-replayed') !== 'true') ctx.journal.spends.set(reply.body.entryId, { accountId: account, amount: reply.body.amount });
}

function holdRequest(ctx: SoakContext) {
  const account = ctx.random.pick(ctx.accounts);
  const expiresInSeconds = ctx.steady.has(account) ? 600 : ctx.random.int(1, ctx.maxExpirySeconds);
  return { path: `/v1/accounts/${account}/holds`, body: { amount: ctx.random.int(1, 40), expiresInSeconds }, account };
}

function noteHold(ctx: SoakContext, reply: TallyResponse) {
  if (reply.status !== 201 || reply.headers.get('idempotent-replayed') === 'true') return;
  const hold = reply.body;
  ctx.journal.holds.set(hold.id, { id: hold.id, accountId: hold.accountId, amount: hold.amount });
  if (!ctx.steady.has(hold.accountId)) ctx.journal.expiresAt(Date.parse(hold.expiresAt));
}

/** A hold placed earlier, most often a recent one (still active), now and then any (settled or expired: a 409). */
function someHold(ctx: SoakContext) {
  const ids = [...ctx.journal.holds.keys()];
  if (ids.length === 0) return undefined;
  const recent = ctx.random.chance(0.8);
  return ctx.journal.holds.get(recent ? ids[Math.max(0, ids.length - 1 - ctx.random.int(0, 15))] : ctx.random.pick(ids))!;
}

async function settle(ctx: SoakContext, how: 'capture' | 'release', hold: HoldRecord, amount: number, process?: number) {
  const keyed = ctx.random.chance(0.5);
  const body = how === 'capture' ? { amount } : {};
  const reply = await send(ctx, how, 'POST', `/v1/holds/${hold.id}/${how}`, body, [200, 409], { key: keyed ? ctx.newKey() : undefined, process, account: hold.accountId });
  const holdId = hold.id;
  if (reply.status === 200 && reply.headers.get('idempotent-replayed') !== 'true') {
    ctx.journal.settled(holdId, how === 'capture' ? 'captured' : 'released', reply.body.entryId, amount);
  }
  return reply;
}

const captureAmount = (ctx: SoakContext, held: number) => (ctx.random.chance(0.5) ? held : ctx.random.int(0, held));

export const ledgerOperations: Record<string, { weight: number; run: Operation }> = {
  spend: {
    weight: 30,
    run: async (ctx) => {
      const { path, body, account } = spendRequest(ctx);
      noteSpend(ctx, account, await send(ctx, 'spend', 'POST', path, body, [200, 402], { key: ctx.newKey(), account }));
    },
  },
  hold: {
    weight: 15,
    run: async (ctx) => {
      const { path, body, account } = holdRequest(ctx);
      noteHold(ctx, await send(ctx, 'hold', 'POST', path, body, [201, 402], { key: ctx.newKey(), account }));
    },
  },
  capture: {
    weight: 10,
    run: async (ctx) => {
      const hold = someHold(ctx);
      if (hold) await settle(ctx, 'capture', hold, captureAmount(ctx, hold.amount));
    },
  },
  release: {
    weight: 8,
    run: async (ctx) => {
      const hold = someHold(ctx);
      if (hold) await settle(ctx, 'release', hold, 0);
    },
  },
  /** A capture and a release of one hold at once, on the two processes: one of them at most. */
  race: {
    weight: 4,
    run: async (ctx) => {
      const hold = someHold(ctx);
      if (!hold) return;
      const first = ctx.random.int(0, ctx.admins.length - 1);
      const other = (first + 1) % ctx.admins.length;
      const amount = captureAmount(ctx, hold.amount);
      const replies = await Promise.all([settle(ctx, 'capture', hold, amount, first), settle(ctx, 'release', hold, 0, other)]);
      if (replies.every((r) => r.status === 200)) ctx.journal.violation(`hold ${hold.id} both captured and released at once: ${JSON.stringify(replies.map((r) => r.body))}`);
    },
  },
  grant: {
    weight: 8,
    run: async (ctx) => {
      const account = ctx.random.pick(ctx.accounts);
      const expires = !ctx.steady.has(account) && ctx.random.chance(0.5);
      const expiresAt = expires ? new Date(Date.now() + ctx.random.int(2, ctx.maxExpirySeconds) * 1000).toISOString() : undefined;
      await send(ctx, 'grant', 'POST', `/v1/accounts/${account}/grants`, { amount: ctx.random.int(10, 100), expiresAt }, [201], { key: ctx.newKey(), admin: true });
      if (expiresAt) ctx.journal.expiresAt(Date.parse(expiresAt));
    },
  },
  /** An acknowledged request sent again with its key and body: its first answer. */
  replay: {
    weight: 12,
    run: async (ctx) => {
      if (ctx.journal.acknowledged.length === 0) return;
      const first = ctx.random.pick(ctx.journal.acknowledged);
      const index = ctx.random.int(0, ctx.admins.length - 1);
      const reply = await ctx.admins[index].request(first.method, first.path, first.body, { 'idempotency-key': first.key });
      ctx.journal.count('replay');
      ctx.journal.answered('replay', `replay ${first.path} (key ${first.key})`, reply, [first.status]);
      ctx.journal.replayed(first, reply, `process ${index}`);
    },
  },
  /** An acknowledged key sent with another body: 409 idempotency_key_reused, nothing written. */
  reuse: {
    weight: 4,
    run: async (ctx) => {
      if (ctx.journal.acknowledged.length === 0) return;
      const first = ctx.random.pick(ctx.journal.acknowledged);
      const body = { ...first.body, amount: Number(first.body.amount ?? 0) + 1 };
      const reply = await send(ctx, 'reuse', 'POST', first.path, body, [409, 400], { key: first.key, admin: true });
      if (reply.status === 409 && reply.body?.error?.code !== 'idempotency_key_reused') ctx.journal.violation(`key ${first.key} reused: ${JSON.stringify(reply.body)}`);
    },
  },
  /** One new spend or hold sent to every process at once under one key: one answer for all that succeed. */
  twin: {
    weight: 4,
    run: async (ctx) => {
      const isHold = ctx.random.chance(0.4);
      const { path, body, account } = isHold ? holdRequest(ctx) : spendRequest(ctx);
      const key = ctx.newKey();
      const expected = isHold ? [201, 402] : [200, 402];
      const replies = await Promise.all(ctx.admins.flatMap((_, i) => [i, i]).map((i) => send(ctx, 'twin', 'POST', path, body, expected, { key, process: i })));
      for (const reply of replies) isHold ? noteHold(ctx, reply) : noteSpend(ctx, account, reply);
      const succeeded = replies.filter((r) => r.status < 300);
      if (new Set(succeeded.map((r) => JSON.stringify(r.body))).size > 1) ctx.journal.violation(`one key, several answers: ${JSON.stringify(succeeded.map((r) => r.body))}`);
      if (succeeded.filter((r) => r.headers.get('idempotent-replayed') !== 'true').length > 1) ctx.journal.violation(`one key acknowledged as new more than once: ${key}`);
    },
  },
  /** One new key sent at once with spends on two accounts (from two processes): one is made, the other is a 409 (or a 402). */
  crossed: {
    weight: 2,
    run: async (ctx) => {
      const key = ctx.newKey();
      const amount = ctx.random.int(1, 25);
      const accounts = [ctx.random.pick(ctx.accounts), ctx.random.pick(ctx.accounts)];
      if (accounts[0] === accounts[1]) return;
      const replies = await Promise.all(accounts.map((account, i) => send(ctx, 'crossed', 'POST', `/v1/accounts/${account}/spend`, { amount }, [200, 402, 409], { key, process: i % ctx.admins.length })));
      replies.forEach((reply, i) => noteSpend(ctx, accounts[i], reply));
      if (replies.filter((r) => r.status === 200).length > 1) ctx.journal.violation(`one key made spends on two accounts: ${JSON.stringify(replies.map((r) => r.body))}`);
      for (const reply of replies) {
        if (reply.status === 409 && reply.body?.error?.code !== 'idempotency_key_reused') ctx.journal.violation(`key ${key} on two accounts: ${JSON.stringify(reply.body)}`);
      }
    },
  },
  read: {
    weight: 5,
    run: async (ctx) => {
      await send(ctx, 'read', 'GET', `/v1/accounts/${ctx.random.pick(ctx.accounts)}/balance`, undefined, [200]);
    },
  },
};
