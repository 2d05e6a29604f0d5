import { z } from 'zod';

/** Zod building blocks for form-encoded params, where every scalar arrives as a string. */

export const str = z.string();

export const int = z.preprocess(
  (value) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value),
  z.number().int(),
);

export const bool = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean(),
);

/** `''` means "unset" on the wire (stripe-node sends `null` that way). */
export const metadata = z.preprocess(
  (value) => (value === '' ? null : value),
  z.record(z.string().max(40), z.string().max(500)).nullable(),
);

export function list<T extends z.ZodType>(item: T) {
  return z.preprocess(toArray, z.array(item));
}

export const expand = list(str).optional();

export const range = z.union([
  int,
  z.strictObject({ gt: int.optional(), gte: int.optional(), lt: int.optional(), lte: int.optional() }),
]);
export type Range = z.infer<typeof range>;

export const pagination = {
  limit: int.optional(),
  starting_after: str.optional(),
  ending_before: str.optional(),
  expand,
};

function toArray(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entries = Object.entries(value);
  if (!entries.every(([key]) => /^\d+$/.test(key))) return value;
  return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, item]) => item);
}
