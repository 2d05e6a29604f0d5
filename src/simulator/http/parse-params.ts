import type { z } from 'zod';
import { invalidRequest, type StripeError } from './stripe-error.js';

/** Validates params with a zod schema and answers the first problem the way Stripe words it. */
export function parseParams<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw toStripeError(result.error.issues, input);
}

type Issue = z.core.$ZodIssue;

function toStripeError(issues: Issue[], input: unknown): StripeError {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown && unknown.code === 'unrecognized_keys') {
    const param = formatParam([...unknown.path, unknown.keys[0] ?? '']);
    return invalidRequest(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
  }
  const missing = issues.find((issue) => valueAt(input, issue.path) === undefined);
  if (missing) {
    const param = formatParam(missing.path);
    return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
  }
  const issue = issues[0] as Issue;
  const param = formatParam(issue.path);
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_value') {
    return invalidRequest(`Invalid ${param}: must be one of ${issue.values.join(', ')}`, param);
  }
  if (issue.code === 'invalid_type' && issue.expected === 'number') {
    return invalidRequest(`Invalid integer: ${String(value)}`, param, 'parameter_invalid_integer');
  }
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') {
    return invalidRequest(`Invalid boolean: ${String(value)}`, param);
  }
  if (issue.code === 'invalid_type' && issue.expected === 'array') {
    return invalidRequest(`Invalid array`, param);
  }
  if (issue.code === 'invalid_type' && typeof value === 'object') {
    return invalidRequest(`Invalid string: ${param} must be a string, not a hash`, param);
  }
  return invalidRequest(`Invalid ${param}: ${issue.message}`, param);
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let node = input;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(key)] : (node as Record<string, unknown>)[String(key)];
  }
  return node;
}

export function formatParam(path: PropertyKey[]): string {
  return path.map((key, i) => (i === 0 ? String(key) : `[${String(key)}]`)).join('');
}
