import type { Store } from '../store.js';
import type { StripeList } from '../stripe-objects.js';
import { expandList, type Expandable } from './expand.js';
import { paginate, type PageParams } from './paginate.js';

/** One page of `items` (in creation order) with `expand[]=data.x` applied, as every list endpoint answers. */
export function listResponse<T extends { id: string }>(
  store: Store, items: Iterable<T>, params: PageParams & { expand?: string[] | undefined }, url: string,
  extrasFor?: (item: T) => Expandable,
): StripeList<T> {
  const page = paginate(items, params, url);
  return { ...page, data: expandList(store, page.data, params.expand, extrasFor) };
}
