import type { StripeList } from '../stripe-objects.js';
import type { Range } from './form-schemas.js';
import { invalidRequest } from './stripe-error.js';

export interface PageParams {
  limit?: number | undefined;
  starting_after?: string | undefined;
  ending_before?: string | undefined;
}

/** Stripe lists newest first; `items` arrive in creation order. */
export function paginate<T extends { id: string }>(items: Iterable<T>, params: PageParams, url: string): StripeList<T> {
  const limit = params.limit ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidRequest('Invalid limit: must be between 1 and 100', 'limit', 'parameter_invalid_integer');
  }
  const newestFirst = [...items].reverse();
  let start = 0;
  let end = newestFirst.length;
  if (params.starting_after) {
    start = cursorIndex(newestFirst, params.starting_after, 'starting_after') + 1;
  } else if (params.ending_before) {
    end = cursorIndex(newestFirst, params.ending_before, 'ending_before');
    start = Math.max(0, end - limit);
  }
  const data = newestFirst.slice(start, Math.min(end, start + limit));
  const hasMore = params.ending_before ? start > 0 : start + limit < end;
  return { object: 'list', data, has_more: hasMore, url };
}

function cursorIndex<T extends { id: string }>(items: T[], id: string, param: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index === -1) throw invalidRequest(`No such object: '${id}'`, param, 'resource_missing');
  return index;
}

export function matchesRange(value: number, range: Range | undefined): boolean {
  if (range === undefined) return true;
  if (typeof range === 'number') return value === range;
  return (
    (range.gt === undefined || value > range.gt) &&
    (range.gte === undefined || value >= range.gte) &&
    (range.lt === undefined || value < range.lt) &&
    (range.lte === undefined || value <= range.lte)
  );
}
