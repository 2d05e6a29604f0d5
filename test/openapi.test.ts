import t from 'tap';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import SwaggerParser from '@apidevtools/swagger-parser';
import { openApiDocument } from '../src/openapi-document.js';
import { build } from './helper.js';

t.test('openapi.yaml is the contract the app serves', async (t) => {
  const served = await openApiDocument();
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'));
  t.same(committed, served, 'openapi.yaml differs from the served document: run npm run openapi');
  const paths = Object.keys(served.paths as object);
  for (const path of ['/v1/accounts/{accountId}', '/v1/accounts/{accountId}/spend', '/v1/holds/{holdId}/capture', '/v1/api-keys/{id}']) {
    t.ok(paths.includes(path), `documents ${path}`);
  }
  const responses = (path: string, method: string) => Object.keys((served.paths as any)[path][method].responses);
  t.ok(['413', '415'].every((status) => responses('/v1/accounts/{accountId}/spend', 'post').includes(status)), 'a route that reads a body documents 413 and 415');
  t.notOk(responses('/v1/accounts/{accountId}/balance', 'get').includes('415'), 'one that reads none does not');
  t.ok(responses('/v1/accounts/{accountId}/balance', 'get').includes('503'), 'a route that asks the database documents 503');
  t.ok(responses('/healthz', 'get').includes('503'), '/healthz, which never asks it, documents 503 too: shutting_down, on any route');
});

t.test('openapi.yaml is a valid OpenAPI 3.1 document, its references resolved, as code generators read it', async (t) => {
  const committed = parse(await readFile(new URL('../openapi.yaml', import.meta.url), 'utf8'));
  t.equal(committed.openapi, '3.1.0');
  t.match(committed.servers, [{ url: String }], 'names its server, as Redocly\'s recommended lint requires (code generators take their base URL from it)');
  await t.resolves(SwaggerParser.validate(committed), 'swagger-parser validates it against the OpenAPI schema');
  const broken = structuredClone(committed);
  broken.paths['/v1/accounts/{accountId}'].get.responses = { 200: { description: 1 } };
  await t.rejects(SwaggerParser.validate(broken), 'and refuses a document that is not');
});

t.test('the docs are served', async (t) => {
  const { app } = await build(t);
  const json = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(json.statusCode, 200);
  t.equal(json.json().info.title, 'Tally');
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger/i);
});

type Schema = { type?: string | string[]; format?: string; enum?: unknown[]; required?: string[]; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[] };
type Response = { headers?: Record<string, unknown>; content?: Record<string, { schema: Schema }> };
type Operation = { parameters?: Array<{ in: string; name: string }>; responses: Record<string, Response> };

/** Every operation of the served document, named `METHOD path`. */
async function servedOperations(): Promise<Array<[string, Operation]>> {
  const document = (await openApiDocument()) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]));
}

/** Each property of a schema, at any depth, with its path and the schemas it may be (a nullable field is two). */
function* properties(schema: Schema, path: string): Generator<[string, Schema]> {
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) yield* properties(branch, path);
  if (schema.items) yield* properties(schema.items, `${path}[]`);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    yield [`${path}.${name}`, property];
    yield* properties(property, `${path}.${name}`);
  }
}

/** Each property of every JSON response the document describes, named `METHOD path status.field`. */
async function responseProperties(): Promise<Array<[string, Schema]>> {
  const found: Array<[string, Schema]> = [];
  for (const [name, operation] of await servedOperations()) {
    for (const [status, response] of Object.entries(operation.responses)) {
      const schema = response.content?.['application/json']?.schema;
      if (schema) found.push(...properties(schema, `${name} ${status}`));
    }
  }
  return found;
}

t.test('the headers Tally answers are documented: Retry-After on every 503, idempotent-replayed where an Idempotency-Key is taken', async (t) => {
  const missing: string[] = [];
  for (const [name, operation] of await servedOperations()) {
    const header = (status: string, wanted: string) => {
      const headers = Object.keys(operation.responses[status].headers ?? {}).map((h) => h.toLowerCase());
      if (!headers.includes(wanted)) missing.push(`${name} ${status} ${wanted}`);
    };
    if (operation.responses['503']) header('503', 'retry-after');
    if (operation.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key')) {
      for (const status of Object.keys(operation.responses).filter((s) => s.startsWith('2'))) header(status, 'idempotent-replayed');
    }
  }
  t.same(missing, []);
});

t.test('every timestamp a response carries is documented as a date-time', async (t) => {
  const untyped = (await responseProperties()).filter(([path, property]) => {
    const strings = [property, ...(property.anyOf ?? [])].filter((branch) => branch.type === 'string');
    return /(^|\.)(at|\w+At|currentPeriodStart|currentPeriodEnd)$/.test(path) && strings.some((branch) => branch.format !== 'date-time');
  });
  t.same(untyped.map(([path]) => path), []);
});

t.test('every field a response takes from a fixed set (a kind, a status, a role, an interval) documents the set', async (t) => {
  const open = (await responseProperties()).filter(([path, property]) => /\.(kind|status|role|interval)$/.test(path) && property.enum === undefined);
  t.same(open.map(([path]) => path), []);
});

t.test("a 402 documents its code and details ({ available, required }), which a client reads to say how many credits are missing", async (t) => {
  const documented = (await servedOperations()).filter(([, operation]) => operation.responses['402']);
  t.ok(documented.length >= 2, 'spends and holds document a 402');
  for (const [name, operation] of documented) {
    const error = operation.responses['402'].content?.['application/json']?.schema.properties?.error;
    t.match(error?.properties?.code, { enum: ['insufficient_credits'] }, `${name}: its code`);
    t.match(error?.properties?.details, { properties: { available: { type: 'integer' }, required: { type: 'integer' } }, required: ['available', 'required'] }, `${name}: its details`);
  }
});

t.test('every field of every response has a type a client can generate code from', async (t) => {
  const untyped = (await responseProperties()).filter(([, property]) => !property.type && !property.anyOf && !property.oneOf && !property.enum && !('const' in property));
  t.same(untyped.map(([path]) => path), []);
});

t.test('every operation has an operationId, camelCase and unique, for the method names of generated clients', async (t) => {
  const operations = await servedOperations();
  const ids = new Map<string, string[]>();
  for (const [name, operation] of operations) {
    const id = (operation as { operationId?: string }).operationId;
    t.match(id, /^[a-z][a-zA-Z0-9]*$/, `${name} has a camelCase operationId`);
    if (id) ids.set(id, [...(ids.get(id) ?? []), name]);
  }
  t.same([...ids].filter(([, names]) => names.length > 1), [], 'no two operations share one');
});
