/** One invoice line, reduced to what decides credits. */
export interface CreditLine {
  amount: number;
  quantity: number;
  priceId: string | null;
  period: { start: number; end: number };
}

export interface PlanCredits {
  id: string;
  credits: number;
  rollover: boolean;
}

/** The credits a paid invoice entitles one period of the subscription to. Periods are named by their end. */
export interface PeriodTarget {
  start: number;
  end: number;
  credits: number;
  /**
   * The credits of the period another invoice paid for: an upgrade's proration pays only for the
   * rise from the old plan's level (its "unused time" credit lines name that plan), 0 for a renewal.
   */
  base: number;
  planId: string;
  rollover: boolean;
}

/**
 * What a paid invoice pays for: for each period its lines cover, the credits of the plans billed for
 * it. A renewal covers the new period; an upgrade's proration line covers the rest of the current
 * period (same end, later start) at the new plan's level. Credit lines (negative amounts, such as
 * "unused time" on the old plan) pay for nothing, but say which level of the period the invoice
 * starts from (`base`); prices that are no plan of Tally's are skipped.
 */
export function computePeriodTargets(lines: CreditLine[], planFor: (priceId: string) => PlanCredits | undefined): PeriodTarget[] {
  const byEnd = new Map<number, PeriodTarget>();
  const baseByEnd = new Map<number, number>();
  for (const line of lines) {
    if (!line.priceId) continue;
    const plan = planFor(line.priceId);
    if (!plan) continue;
    const credits = plan.credits * Math.max(1, line.quantity);
    if (line.amount < 0) {
      baseByEnd.set(line.period.end, (baseByEnd.get(line.period.end) ?? 0) + credits);
      continue;
    }
    const target = byEnd.get(line.period.end);
    if (!target) {
      byEnd.set(line.period.end, { start: line.period.start, end: line.period.end, credits, base: 0, planId: plan.id, rollover: plan.rollover });
      continue;
    }
    target.start = Math.min(target.start, line.period.start);
    target.credits += credits;
  }
  return [...byEnd.values()]
    .filter((target) => target.credits > 0)
    .map((target) => ({ ...target, base: baseByEnd.get(target.end) ?? 0 }))
    .sort((a, b) => a.end - b.end);
}
