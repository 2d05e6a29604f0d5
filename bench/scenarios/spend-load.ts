import { randomInt, randomUUID } from 'node:crypto';
import type autocannon from 'autocannon';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadOptions } from '../load.js';
import type { LoadSide } from '../load-side.js';
import { postEach } from '../post-each.js';
import { connections } from '../targets.js';
import type { BenchContext } from './scenario.js';

export type FundedContext = Pick<BenchContext, 'fundedAccounts' | 'serviceKey'>;

/** The service key and a JSON body, on every request of a load. */
export const serviceHeaders = (context: FundedContext) => ({ authorization: `Bearer ${context.serviceKey}`, 'content-type': 'application/json' });

/** A POST of `body` to `/v1/accounts/{a random funded account}/{action}`, with an Idempotency-Key of its own. */
export function postToRandomAccount(context: FundedContext, action: string, body: unknown): autocannon.Request {
  const accounts = context.fundedAccounts;
  return {
    method: 'POST',
    body: JSON.stringify(body),
    setupRequest: (request) => ({
      ...request,
      path: `/v1/accounts/${accounts[randomInt(accounts.length)]}/${action}`,
      headers: { ...request.headers, 'idempotency-key': randomUUID() },
    }),
  };
}

/** 1 credit spent on a random funded account per request, each with an Idempotency-Key of its own. */
export function spendLoad(context: FundedContext): Omit<LoadOptions, 'url' | 'seconds'> {
  return { connections: connections.spend, headers: serviceHeaders(context), requests: [postToRandomAccount(context, 'spend', { amount: 1 })] };
}

/**
 * One spend of 1 credit on each funded account, 32 at a time: Tally as a server that has been
 * running finds it, having served these accounts before (it keeps the state of the accounts it
 * wrote last: src/domain/ledger/account-cache.ts). Returns the answers by status.
 */
export async function spendOnEachAccount(context: Pick<BenchContext, 'fundedAccounts' | 'serviceKey' | 'tally'>): Promise<Record<string, number>> {
  const headers = serviceHeaders(context);
  const requests = context.fundedAccounts.map((account) => ({ path: `/v1/accounts/${account}/spend`, body: '{"amount":1}', headers: { ...headers, 'idempotency-key': randomUUID() } }));
  return (await postEach(context.tally.url, '/', requests, connections.spend)).statusCodes;
}

/** The funded accounts in a file, one a line, for wrk's spend.lua (WRK_ACCOUNTS); `remove` when done. */
export function writeAccountsFile(accounts: string[]): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-wrk-'));
  const path = join(dir, 'accounts.txt');
  writeFileSync(path, `${accounts.join('\n')}\n`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What wrk's spend.lua reads besides WRK_RUN: the accounts file and the service key. */
export const spendWrkEnv = (accountsFile: string, serviceKey: string) => ({ WRK_ACCOUNTS: accountsFile, WRK_KEY: serviceKey });

/** The spend load from wrk (bench/wrk/spend.lua): `use` gets the load side, and the accounts file is removed after. */
export async function withSpendWrkLoad<T>(context: BenchContext, label: string, use: (load: LoadSide) => Promise<T>): Promise<T> {
  const accounts = writeAccountsFile(context.fundedAccounts);
  try {
    return await use(context.tallyWrkLoad(label, { connections: connections.spend, script: 'spend.lua', env: spendWrkEnv(accounts.path, context.serviceKey) }));
  } finally {
    accounts.remove();
  }
}
