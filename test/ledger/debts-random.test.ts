import t from 'tap';
import { build, key } from '../helper.js';
import { moneyKept } from './money-kept.js';

// Random runs of grants, holds, spends, captures, releases, refunds and their failures on one account,
// through the ledger as the webhooks and the API drive it: after every step the books must balance
// (moneyKept: no credit appears or disappears, no balance below zero, the balance read agrees).

const ACCOUNT = 'acct_random';

/** mulberry32: the same run for the same seed, so that a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

for (const seed of [1, 2, 3, 4]) {
  t.test(`seed ${seed}: 40 random steps, the books balanced after each`, async (t) => {
    const ctx = await build(t);
    await ctx.call('PUT', `/v1/accounts/${ACCOUNT}`, {});
    const next = random(seed);
    const pick = <T>(items: T[]): T | undefined => items[Math.floor(next() * items.length)];
    const amount = (most: number) => 1 + Math.floor(next() * most);
    const ledger = ctx.app.ledger;
    const grants: string[] = [];
    const holds: string[] = [];
    const revocations: Array<{ grantId: string; revocationKey: string }> = [];
    const steps: string[] = [];
    for (let step = 0; step < 40; step++) {
      const choice = next();
      const tried = async (what: string, run: () => Promise<unknown>) => {
        steps.push(what);
        await run().catch((error: { code?: string }) => {
          if (!['insufficient_credits', 'hold_not_active', 'hold_expired', 'capture_exceeds_hold'].includes(error.code ?? '')) throw error;
        });
      };
      const grantId = pick(grants);
      const holdId = pick(holds);
      if (choice < 0.15 || !grantId) {
        const { value } = await ledger.grant({ accountId: ACCOUNT, amount: 100 * amount(5), source: 'stripe_checkout', sourceKey: key('checkout') });
        grants.push(value.grant.id);
        steps.push(`grant ${value.grant.amount}`);
      } else if (choice < 0.35) {
        await tried('hold', async () => holds.push((await ledger.hold({ accountId: ACCOUNT, amount: amount(400), expiresInSeconds: next() < 0.2 ? 1 : 600 }, { key: key(), operation: 'hold', fingerprint: 'x' })).value.hold.id));
      } else if (choice < 0.45) {
        await tried('spend', () => ledger.spend({ accountId: ACCOUNT, amount: amount(200) }, { key: key(), operation: 'spend', fingerprint: 'x' }));
      } else if (choice < 0.55 && holdId) {
        await tried(`capture ${holdId}`, () => ledger.capture(holdId, amount(300), {}));
      } else if (choice < 0.65 && holdId) {
        await tried(`release ${holdId}`, () => ledger.release(holdId, null));
      } else if (choice < 0.85) {
        const revocationKey = `refund:${key('re')}:${grantId}`;
        revocations.push({ grantId, revocationKey });
        await tried(`revoke ${revocationKey}`, () => ledger.revoke({ accountId: ACCOUNT, grantId, amount: 50 * amount(6), revocationKey, reason: 'refunded' }));
      } else {
        const revocation = pick(revocations);
        if (revocation) await tried(`restore ${revocation.revocationKey}`, () => ledger.restore({ accountId: ACCOUNT, ...revocation, reason: 'refund failed' }));
      }
      if (next() < 0.1) await new Promise((resolve) => setTimeout(resolve, 1000));
      const before = t.counts.fail;
      await moneyKept(t, ctx, ACCOUNT);
      if (t.counts.fail > before) {
        t.comment(`after: ${steps.join('; ')}`);
        break;
      }
    }
  });
}
