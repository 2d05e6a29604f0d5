import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { StripeError, type StripeErrorType } from './stripe-error.js';

export const failureRuleSchema = z.object({
  method: z.string().optional(),
  path: z.string(),
  status: z.number().int().min(100).max(599).optional(),
  delayMs: z.number().int().min(0).optional(),
  count: z.number().int().min(1).optional(),
  error: z.object({ type: z.string(), message: z.string(), code: z.string().optional() }).optional(),
  /**
   * The failure comes once the endpoint has begun (after the Idempotency-Key is taken), so its answer
   * is saved under the key and a retry with the key replays it, as Stripe's v1 API does ("including
   * 500 errors"). Without it, the failure comes before (Stripe's edge, a load balancer): nothing saved.
   */
  saved: z.boolean().optional(),
});
export type FailureRule = z.infer<typeof failureRuleSchema>;

interface ActiveRule extends FailureRule {
  remaining: number;
}

/** Injected failures for API calls: a status to answer with, or a delay long enough to hit a timeout. */
export class FailureInjection {
  private readonly rules: ActiveRule[] = [];
  private readonly sleepers = new Set<() => void>();

  add(rule: FailureRule): void {
    this.rules.push({ ...failureRuleSchema.parse(rule), remaining: rule.count ?? 1 });
  }

  /** Failures added and not yet met by a request: 0 once a delayed request has begun its delay. */
  get pending(): number {
    return this.rules.reduce((sum, rule) => sum + rule.remaining, 0);
  }

  /** Before the Idempotency-Key is looked at: a failure nothing saves. */
  readonly hook = (request: FastifyRequest, _reply: FastifyReply): Promise<void> => this.fail(request, false);

  /** After the Idempotency-Key is taken: a failure of the endpoint, which the key saves (`saved` rules). */
  readonly savedHook = (request: FastifyRequest, _reply: FastifyReply): Promise<void> => this.fail(request, true);

  private async fail(request: FastifyRequest, saved: boolean): Promise<void> {
    const path = request.url.split('?')[0] ?? '';
    const rule = this.rules.find((candidate) => (candidate.saved ?? false) === saved && matches(candidate, request.method, path));
    if (!rule) return;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
    if (rule.delayMs) await this.sleep(rule.delayMs);
    if (rule.delayMs && rule.status === undefined && !rule.error) return;
    const error = rule.error ?? { type: 'api_error', message: 'Simulated failure' };
    throw new StripeError(rule.status ?? 500, error.type as StripeErrorType, error.message, error.code);
  }

  /** Ends pending delays (closing the server, or a test that has done what the delay was for): each request answers as its rule says. */
  close(): void {
    for (const wake of this.sleepers) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

function matches(rule: FailureRule, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method) return false;
  if (path.startsWith(rule.path)) return true;
  try {
    return new RegExp(rule.path).test(path);
  } catch {
    return false;
  }
}
