import type { PlanRow } from '../plans/plan-view.js';
import { planView, type PlanView } from '../plans/plan-view.js';
import { isInGoodStanding, isLive, type SubscriptionStatus } from './read-subscription-state.js';
import type { SubscriptionRow } from './subscription-records.js';

export interface SubscriptionView {
  id: string;
  accountId: string;
  planId: string | null;
  plan: PlanView | null;
  status: SubscriptionStatus;
  live: boolean;
  stripeSubscriptionId: string;
  stripeCustomerId: string;
  stripePriceId: string;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: string | null;
  canceledAt: string | null;
  endedAt: string | null;
  /** Credits granted for the current period so far. */
  currentPeriodCredits: number;
  /** What the next paid renewal grants, and when; null when no renewal is coming. */
  nextGrant: { at: string; credits: number; expiresAt: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function subscriptionView(row: SubscriptionRow, plan: PlanRow | null, currentPeriodCredits: number): SubscriptionView {
  const status = row.status as SubscriptionStatus;
  const renews = isInGoodStanding(status) && !row.cancelAtPeriodEnd && row.cancelAt === null && row.currentPeriodEnd !== null && plan !== null;
  return {
    id: row.id,
    accountId: row.accountId,
    planId: row.planId,
    plan: plan ? planView(plan) : null,
    status,
    live: isLive(status),
    stripeSubscriptionId: row.stripeSubscriptionId,
    stripeCustomerId: row.stripeCustomerId,
    stripePriceId: row.stripePriceId,
    currentPeriodStart: iso(row.currentPeriodStart),
    currentPeriodEnd: iso(row.currentPeriodEnd),
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    cancelAt: iso(row.cancelAt),
    canceledAt: iso(row.canceledAt),
    endedAt: iso(row.endedAt),
    currentPeriodCredits,
    nextGrant: renews
      ? {
          at: row.currentPeriodEnd!.toISOString(),
          credits: Number(plan!.credits),
          // The next period is as long as the plan's interval; its credits expire with it unless they roll over.
          expiresAt: plan!.rollover ? null : nextPeriodEnd(row.currentPeriodStart, row.currentPeriodEnd!, billedInterval(row, plan!)).toISOString(),
        }
      : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * How often the subscription is billed: its plan's interval while it pays the plan's price; a price
 * the plan had before (a PATCH of the interval makes a new one for new subscribers only) is known
 * here by the length of the period it bills, a month or a year.
 */
function billedInterval(row: SubscriptionRow, plan: PlanRow): 'month' | 'year' {
  if (row.stripePriceId === plan.stripePriceId || !row.currentPeriodStart || !row.currentPeriodEnd) return plan.interval;
  return row.currentPeriodEnd.getTime() - row.currentPeriodStart.getTime() > LONGEST_MONTH_MS ? 'year' : 'month';
}

const LONGEST_MONTH_MS = 31 * 86_400_000;

/**
 * Stripe's calendar arithmetic: the billing anchor's day next month (or year), clamped to the
 * month's last day. The anchor's day is not kept, but the period's ends show it: an end that is not
 * its month's last day is on it, and ends that both are last days put it at the later of them (a
 * subscription started on the 31st ends a period on Feb 28, and the next on Mar 31).
 */
function nextPeriodEnd(start: Date | null, end: Date, interval: 'month' | 'year'): Date {
  const anchorDay = !isLastDayOfMonth(end) || !start ? end.getUTCDate() : !isLastDayOfMonth(start) ? start.getUTCDate() : Math.max(start.getUTCDate(), end.getUTCDate());
  const months = interval === 'year' ? 12 : 1;
  const target = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + months, 1, end.getUTCHours(), end.getUTCMinutes(), end.getUTCSeconds()));
  target.setUTCDate(Math.min(anchorDay, lastDayOfMonth(target)));
  return target;
}

const lastDayOfMonth = (date: Date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
const isLastDayOfMonth = (date: Date) => date.getUTCDate() === lastDayOfMonth(date);
