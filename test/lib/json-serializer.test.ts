import t from 'tap';
import { z } from 'zod';
import { jsonSerializerCompiler } from '../../src/lib/json-serializer.js';

const route = (schema: z.ZodType) => jsonSerializerCompiler({ schema, method: 'GET', url: '/x' });

t.test('writes the fields the response schema names, and only those', async (t) => {
  const write = route(z.object({
    id: z.string(),
    amount: z.number().int(),
    expiresAt: z.string().nullable(),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
    grants: z.array(z.object({ id: z.string(), remaining: z.number().int() })),
  }));
  const body = { id: 'a"b', amount: 5, expiresAt: null, metadata: { k: 'v', n: 2, b: false, z: null }, grants: [{ id: 'g', remaining: 3, secret: 'x' }], internal: 1 };
  t.same(JSON.parse(write(body)), { id: 'a"b', amount: 5, expiresAt: null, metadata: { k: 'v', n: 2, b: false, z: null }, grants: [{ id: 'g', remaining: 3 }] });
});

t.test('a response without a required field is refused, not written short', async (t) => {
  const write = route(z.object({ id: z.string(), available: z.number().int() }));
  t.throws(() => write({ id: 'acct' }), /available/);
});

t.test('a response schema JSON Schema cannot state stops the app at start, naming the route', async (t) => {
  t.throws(() => route(z.object({ at: z.string().transform((s) => new Date(s)) })), /GET \/x cannot be written as JSON Schema/);
});
