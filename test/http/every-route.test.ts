import t from 'tap';
import { ADMIN_KEY, build, key } from '../helper.js';

type Operation = { method: string; path: string; hasBody: boolean; statuses: Set<number>; needsKey: boolean };
type Security = Array<Record<string, string[]>>;

/** Every operation the served OpenAPI document lists, with its path as a template, the statuses it documents and whether it says a key is needed. */
async function operations(app: Awaited<ReturnType<typeof build>>['app']): Promise<Operation[]> {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    security?: Security;
    paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown>; security?: Security }>>;
  };
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: operation.requestBody !== undefined || ['POST', 'PUT', 'PATCH'].includes(method.toUpperCase()),
      statuses: new Set(Object.keys(operation.responses ?? {}).map(Number)),
      needsKey: (operation.security ?? document.security ?? []).length > 0,
    })),
  );
}

// Path parameters a client may get wrong: empty-looking, odd characters, long, of another kind of id.
const PARAMS = ['acct_probe', 'x', '%20', '..', 'a%2Fb', '%F0%9F%92%B8', 'grt_' + 'z'.repeat(200), '0', '-1', 'null'];

// Bodies of every wrong shape: not objects, wrong types, edges of numbers, deep and long values.
const BODIES: Array<string | undefined> = [
  undefined,
  'null',
  '[]',
  '"text"',
  '42',
  'true',
  '{}',
  '{"amount":"1"}',
  '{"amount":-1}',
  '{"amount":1e308}',
  '{"amount":1.000000001}',
  '{"amount":1,"unknown":true}',
  '{"accountId":123,"packId":[],"planId":{}}',
  '{"name":"","credits":0,"unitAmount":-5,"currency":"xx"}',
  '{"name":"n","credits":1,"unitAmount":100,"currency":"usd","interval":"week"}',
  '{"expiresAt":"not a date","expiresInSeconds":-1}',
  '{"metadata":{"a":{"b":{"c":1}}}}',
  '{"metadata":[1,2,3]}',
  `{"reason":"${'r'.repeat(20_000)}"}`,
  '{"successUrl":"javascript:alert(1)","cancelUrl":"ftp://x"}',
  '{"role":"root","name":null}',
  '{"atPeriodEnd":"yes"}',
  JSON.stringify(JSON.parse('{"a":' .repeat(60) + '1' + '}'.repeat(60))),
];

const QUERIES = ['', '?limit=0', '?limit=abc', '?limit=1&limit=2', '?cursor=%00', '?active=maybe', '?limit=99999999999999999999'];

t.test('no route answers bad input with a 5xx: each is a 4xx (or a 2xx) in the error shape', async (t) => {
  const ctx = await build(t);
  await ctx.call('PUT', '/v1/accounts/acct_probe', {});
  await ctx.call('POST', '/v1/accounts/acct_probe/grants', { amount: 10 }, { 'idempotency-key': key() });
  const counts = async () =>
    (await ctx.database.pool.query(`SELECT (SELECT count(*) FROM ledger_entries)::int AS entries, (SELECT count(*) FROM grants)::int AS grants,
      (SELECT count(*) FROM holds)::int AS holds, (SELECT count(*) FROM packs)::int AS packs, (SELECT count(*) FROM plans)::int AS plans,
      (SELECT count(*) FROM bills)::int AS bills, (SELECT count(*) FROM checkouts)::int AS checkouts`)).rows[0];
  const before = await counts();
  const ops = await operations(ctx.app);
  t.ok(ops.length >= 30, `the document lists the operations (${ops.length})`);
  let requests = 0;
  const failures: string[] = [];
  const undocumented = new Set<string>();
  for (const op of ops) {
    for (const param of PARAMS) {
      const url = op.path.replace(/\{[^}]+\}/g, param);
      const bodies = op.hasBody ? BODIES : [undefined];
      const queries = op.method === 'GET' ? QUERIES : [''];
      for (const body of bodies) {
        for (const query of queries) {
          const reply = await ctx.app.inject({
            method: op.method as 'GET',
            url: url + query,
            headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': key('every'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { payload: body }),
          });
          requests++;
          const answer = reply.headers['content-type']?.toString().includes('json') ? reply.json() : undefined;
          const shaped = reply.statusCode < 400 || (typeof answer?.error?.code === 'string' && typeof answer?.error?.message === 'string');
          // A path that no longer matches the route (a parameter of '..') is the router's 404, not the operation's.
          const routed = answer?.error?.code !== 'route_not_found';
          if (routed && !op.statuses.has(reply.statusCode)) undocumented.add(`${op.method} ${op.path} → ${reply.statusCode}`);
          if (reply.statusCode >= 500 || !shaped) failures.push(`${op.method} ${url}${query} ${body?.slice(0, 60) ?? '(no body)'} → ${reply.statusCode} ${reply.body.slice(0, 200)}`);
        }
      }
    }
  }
  t.same(failures, [], `${requests} requests: none answered 5xx or outside the error shape`);
  t.same([...undocumented].sort(), [], 'every status answered is one the document lists for its operation');
  t.same(await counts(), before, 'and none of it wrote credits, holds, packs, plans, bills or checkouts');
});

t.test('the document says which operations need a key: without one, 401 exactly where it says so; with a service key, only statuses it lists', async (t) => {
  const ctx = await build(t);
  const wrong: string[] = [];
  for (const op of await operations(ctx.app)) {
    const url = op.path.replace(/\{[^}]+\}/g, 'acct_probe');
    const anonymous = await ctx.app.inject({ method: op.method as 'GET', url });
    if ((anonymous.statusCode === 401) !== op.needsKey) wrong.push(`${op.method} ${op.path} without a key → ${anonymous.statusCode}, documented as ${op.needsKey ? '' : 'not '}needing one`);
    else if (!op.statuses.has(anonymous.statusCode)) wrong.push(`${op.method} ${op.path} without a key → ${anonymous.statusCode}, not documented`);
    const service = await ctx.app.inject({ method: op.method as 'GET', url, headers: { authorization: `Bearer ${ctx.serviceKey}` } });
    if (!op.statuses.has(service.statusCode)) wrong.push(`${op.method} ${op.path} with a service key → ${service.statusCode}, not documented`);
  }
  t.same(wrong, []);
});

t.test('every operation that reads a body documents the 413 and 415 it answers for one it cannot read', async (t) => {
  const ctx = await build(t);
  const undocumented: string[] = [];
  for (const op of await operations(ctx.app)) {
    if (op.method === 'GET') continue; // Fastify reads no body on a GET
    const url = op.path.replace(/\{[^}]+\}/g, 'acct_probe');
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': key('body') };
    const unread = [
      await ctx.app.inject({ method: op.method as 'POST', url, headers: { ...headers, 'content-type': 'text/plain' }, payload: 'text' }),
      await ctx.app.inject({ method: op.method as 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ padding: 'x'.repeat(1_100_000) }) }),
    ];
    for (const reply of unread) if (!op.statuses.has(reply.statusCode)) undocumented.push(`${op.method} ${op.path} → ${reply.statusCode} ${reply.json().error?.code}`);
  }
  t.same(undocumented, []);
});
