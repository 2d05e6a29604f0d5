import type { Store } from '../store.js';
import { invalidRequest } from './stripe-error.js';

/** Fields that exist only when expanded, such as a Checkout Session's `line_items`. */
export type Expandable = Record<string, () => unknown>;

/** Returns a copy of `object` with each dotted `expand` path replaced by the object it names. */
export function expandObject<T extends object>(
  store: Store, object: T, paths: string[] | undefined, extras: Expandable = {},
): T {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const path of paths ?? []) expandPath(store, copy, path.split('.'), extras, path);
  return copy as T;
}

function expandPath(
  store: Store, node: Record<string, unknown>, segments: string[], extras: Expandable, path: string,
): void {
  const [field, ...rest] = segments as [string, ...string[]];
  let value = node[field];
  const extra = extras[field];
  if (extra && (value === undefined || typeof value === 'string')) value = structuredClone(extra());
  else if (typeof value === 'string') value = structuredClone(store.find(value)) ?? value;
  else if (value === undefined) {
    throw invalidRequest(`This property cannot be expanded (${path}).`, 'expand');
  }
  node[field] = value;
  if (rest.length === 0 || value === null || typeof value !== 'object') return;
  const children = Array.isArray(value) ? value : [value];
  for (const child of children) {
    if (child && typeof child === 'object') expandPath(store, child as Record<string, unknown>, rest, {}, path);
  }
}

/** `expand[]=data.customer` on a list applies `customer` to each item. */
export function expandList<T extends object>(
  store: Store, items: T[], paths: string[] | undefined, extrasFor: (item: T) => Expandable = () => ({}),
): T[] {
  const itemPaths = (paths ?? []).filter((path) => path.startsWith('data.')).map((path) => path.slice(5));
  return items.map((item) => expandObject(store, item, itemPaths, extrasFor(item)));
}
