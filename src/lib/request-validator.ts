import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { $ZodType } from 'zod/v4/core';
import { validatorCompiler } from 'fastify-type-provider-zod';

const UNSTORABLE_TEXT = 'must not contain the character U+0000 or an unpaired UTF-16 surrogate';

/**
 * Validates each part of a request with its route's zod schema (fastify-type-provider-zod's
 * compiler), then refuses text PostgreSQL cannot keep: `text` and `jsonb` reject U+0000 and unpaired
 * surrogates (`\ud800` alone), and a request carrying one would otherwise be refused by the database,
 * after validation, as a 500 (and take the ledger batch it shared down with it). Checked here, once
 * for every route, it is a 400 naming the field.
 */
export const requestValidatorCompiler: FastifySchemaCompiler<$ZodType> = (routeSchema) => {
  const validate = validatorCompiler(routeSchema) as (data: unknown) => { error?: FastifySchemaValidationError[]; value?: unknown };
  const isBody = routeSchema.httpPart === 'body';
  return (data) => {
    const result = validate(data);
    // No body where one is needed: zod's own words would be "expected object, received null".
    if (result.error && isBody && (data === null || data === undefined)) return { error: [issueAt([], 'required', 'a JSON body is required')] };
    if (result.error) return result;
    const unstorable = unstorableText(result.value);
    return unstorable.length > 0 ? { error: unstorable } : result;
  };
};

// With the u flag a well-paired surrogate is one code point, so \p{Cs} finds only unpaired ones.
export const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Every string in a validated value (and every object key, reported at its object) that PostgreSQL cannot keep. */
function unstorableText(value: unknown): FastifySchemaValidationError[] {
  const issues: FastifySchemaValidationError[] = [];
  collectUnstorable(value, [], issues);
  return issues;
}

// One path, pushed and popped on the way down: a request's every string is looked at, on every route.
function collectUnstorable(value: unknown, path: PropertyKey[], issues: FastifySchemaValidationError[]): void {
  if (typeof value === 'string') {
    if (UNSTORABLE.test(value)) issues.push(issueAt(path, 'unstorable_text', UNSTORABLE_TEXT));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const key in value) {
    // A bad key is reported at its object: echoing it back would put the bad character in the reply.
    if (UNSTORABLE.test(key)) {
      issues.push(issueAt(path, 'unstorable_text', `keys ${UNSTORABLE_TEXT}`));
      continue;
    }
    path.push(Array.isArray(value) ? Number(key) : key);
    collectUnstorable((value as Record<string, unknown>)[key], path, issues);
    path.pop();
  }
}

/** An issue the way Fastify's validation errors carry it: where (a JSON Pointer within the part), what, and why. */
function issueAt(path: PropertyKey[], keyword: string, message: string): FastifySchemaValidationError {
  const instancePath = `/${path.map(String).join('/')}`;
  return { keyword, instancePath, schemaPath: `#${instancePath}/${keyword}`, params: {}, message };
}
