import type { FastifyBaseLogger as Logger } from 'fastify';
import { isDatabaseUnreachable, unreachableReason } from '../db/database-unreachable.js';
import { isThirdPartyUnavailable } from '../errors.js';
import type { RunReport } from './periodic.js';

/** How often a database that still does not answer is said again. */
export const OUTAGE_REPEAT_MS = 60_000;

/**
 * How a background task that runs every interval (a sweep, a purge, a retry pass, a reconciliation)
 * reports how its runs end. While the database does not answer, every run fails until it is back:
 * that is said once as a warning, again once a minute with the runs failed since, and its return
 * once; not as an error with a stack every interval, which would bury the log and page whoever
 * alerts on errors for what /readyz and the 503s already say. Stripe unreachable or rate limiting
 * (a reconciliation pass's call) is a warning with its code, as the 503 of a request is: the next run
 * asks again. Any other failure is an error, each time, as a bug should be.
 */
export class BackgroundFailures implements RunReport {
  private outage: { since: number; saidAt: number; runs: number } | undefined;

  constructor(
    private readonly logger: Logger,
    /** Names the task in every line: 'expiry sweep'. */
    private readonly task: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A run failed. */
  readonly failed = (error: unknown): void => {
    if (isThirdPartyUnavailable(error)) {
      this.logger.warn({ code: error.code, details: error.details }, `${this.task} failed: ${error.logMessage}; the next run tries again`);
      return;
    }
    if (!isDatabaseUnreachable(error)) {
      this.logger.error({ err: error }, `${this.task} failed`);
      return;
    }
    const now = this.now();
    const reason = unreachableReason(error);
    if (!this.outage) {
      this.outage = { since: now, saidAt: now, runs: 1 };
      this.logger.warn({ reason }, `${this.task}: the database does not answer; trying again every interval`);
      return;
    }
    this.outage.runs++;
    if (now - this.outage.saidAt < OUTAGE_REPEAT_MS) return;
    this.outage.saidAt = now;
    this.logger.warn({ reason, failedRuns: this.outage.runs, forMs: now - this.outage.since }, `${this.task}: the database still does not answer`);
  };

  /** A run went through. */
  readonly succeeded = (): void => {
    if (!this.outage) return;
    const { since, runs } = this.outage;
    this.outage = undefined;
    this.logger.info({ failedRuns: runs, forMs: this.now() - since }, `${this.task}: the database answers again`);
  };

  /** Runs `run` and reports how it ended; never throws. */
  async run(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
      this.succeeded();
    } catch (error) {
      this.failed(error);
    }
  }
}
