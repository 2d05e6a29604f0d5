import type { FastifySerializerCompiler } from 'fastify';
import fastJson from 'fast-json-stringify';
import { z } from 'zod';

type Serialize = (data: unknown) => string;

/** One serializer per schema object: the error body every route shares, and every app built in one process (the tests build hundreds). */
const compiled = new WeakMap<z.ZodType, Serialize>();

/**
 * Responses are written by fast-json-stringify (Fastify's own serializer) from the JSON Schema of each
 * route's zod response schema, the same one openapi.yaml is made from: it writes only the fields the
 * schema names and refuses a response that lacks a required one. fastify-type-provider-zod's
 * serializer parses every response with zod first, which cost about a tenth of a balance read's CPU
 * in Node (bench/HISTORY.md). A response schema with no JSON Schema form stops the app at start.
 */
export const jsonSerializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema, method, url }) => {
  let serialize = compiled.get(schema);
  if (serialize) return serialize;
  try {
    serialize = fastJson(z.toJSONSchema(schema, { io: 'output', target: 'draft-7', unrepresentable: 'throw' }) as fastJson.Schema);
  } catch (error) {
    throw new Error(`The response schema of ${method} ${url} cannot be written as JSON Schema`, { cause: error });
  }
  compiled.set(schema, serialize);
  return serialize;
};
