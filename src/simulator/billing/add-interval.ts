import type { Interval } from '../stripe-objects.js';

/**
 * The end of the `count`-th interval after `anchor`, in unix seconds. Months are counted
 * from the anchor so a subscription started on the 31st renews on the last day of short months.
 */
export function addIntervals(anchor: number, interval: Interval, count: number): number {
  if (interval === 'day') return anchor + count * 86_400;
  if (interval === 'week') return anchor + count * 7 * 86_400;
  const months = interval === 'year' ? count * 12 : count;
  const start = new Date(anchor * 1000);
  const target = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(start.getUTCDate(), lastDay));
  target.setUTCHours(start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds());
  return Math.floor(target.getTime() / 1000);
}

/** The first period boundary after `time` for a subscription anchored at `anchor`. */
export function nextPeriodEnd(anchor: number, interval: Interval, intervalCount: number, time: number): number {
  let periods = 1;
  while (addIntervals(anchor, interval, periods * intervalCount) <= time) periods++;
  return addIntervals(anchor, interval, periods * intervalCount);
}
