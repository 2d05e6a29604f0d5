/** What the issue asks of Tally, each figure against its baseline measured in the same run. */
export const targets = {
  /** spend req/s ≥ this × spend.pgbench tps (32 connections / 32 clients). */
  spendVsPgbenchTps: 0.7,
  /** spend p99 ≤ this × spend.pgbench mean latency. */
  spendP99VsPgbenchLatency: 4,
  /** hot-account req/s ≥ this × hot.pgbench tps (64 connections / 64 clients). */
  hotVsPgbenchTps: 3,
  /** balance reads/s ≥ this × GET /healthz req/s of the same process. */
  balanceVsHealthz: 0.35,
  /** hold-then-capture pairs/s ≥ this × spend req/s. */
  holdsVsSpend: 0.5,
  /** Signed webhook events answered 2xx per second, 32 connections. */
  webhookEventsPerSecond: 1000,
  /** Every paid session granted at most this long after the last webhook event was answered. */
  webhookGrantedWithinSeconds: 10,
  /** Peak resident memory of the Tally process. */
  peakRssMb: 200,
} as const;

export const connections = {
  spend: 32,
  hot: 64,
  balance: 32,
  holds: 32,
  webhooks: 32,
} as const;

/** Accounts funded for the spend, balance and hold scenarios. */
export const FUNDED_ACCOUNTS = 10_000;

/** Credits on each funded account and on the hot one: far more than any run can spend, so nothing is refused. */
export const FUNDED_CREDITS = 1_000_000_000;
