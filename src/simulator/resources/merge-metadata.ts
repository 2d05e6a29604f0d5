import type { Metadata } from '../stripe-objects.js';

/** Stripe's update semantics: `metadata=''` clears all, `metadata[key]=''` removes one key. */
export function mergeMetadata(current: Metadata, update: Record<string, string> | null | undefined): Metadata {
  if (update === undefined) return current;
  if (update === null) return {};
  const merged = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === '') delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

export function newMetadata(input: Record<string, string> | null | undefined): Metadata {
  return mergeMetadata({}, input);
}
