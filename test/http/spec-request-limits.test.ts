import t from 'tap';
import { build, key } from '../helper.js';
import { specChecker } from './spec-check.js';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// A request body the document accepts must not be a 400 for its shape, and one it refuses must be
// one (generated clients validate against the document): the document's verdict against Tally's.
// (Text PostgreSQL cannot keep, U+0000 or a lone surrogate, is a 400 on every route by a rule the
// README states, src/lib/request-validator.ts, which JSON Schema cannot say: not listed here.)
t.test("the document's request-body rules are the ones Tally applies", async (t) => {
  const ctx = await build(t);
  const { doc } = await specChecker(ctx);
  const ajv = new (Ajv2020 as any).default({ strict: false, allErrors: true });
  (addFormats as any).default(ajv);
  await ctx.call('PUT', '/v1/accounts/acct_a', {});
  await ctx.call('POST', '/v1/accounts/acct_a/grants', { amount: 1_000_000 }, { 'idempotency-key': key('g') });
  const metadata51 = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
  const cases: Array<[string, string, string, unknown, Record<string, string>?]> = [
    ['grant source with capitals', '/v1/accounts/{accountId}/grants', '/v1/accounts/acct_a/grants', { amount: 1, source: 'Promo' }],
    ['grant source lower case', '/v1/accounts/{accountId}/grants', '/v1/accounts/acct_a/grants', { amount: 1, source: 'promo' }],
    ['spend with 51 metadata keys', '/v1/accounts/{accountId}/spend', '/v1/accounts/acct_a/spend', { amount: 1, metadata: metadata51 }],
    ['account with 51 metadata keys', '/v1/accounts/{accountId}', '/v1/accounts/acct_a', { metadata: metadata51 }],
    ['bill name of spaces', '/v1/bills', '/v1/bills', { accountId: 'acct_a', name: '   ', amount: 1000, currency: 'usd' }],
    ['bill description of spaces', '/v1/bills', '/v1/bills', { accountId: 'acct_a', name: 'x', description: '  ', amount: 1000, currency: 'usd' }],
    ['hold for 7 days', '/v1/accounts/{accountId}/holds', '/v1/accounts/acct_a/holds', { amount: 1, expiresInSeconds: 604800 }],
    ['hold for 7 days and 1 s', '/v1/accounts/{accountId}/holds', '/v1/accounts/acct_a/holds', { amount: 1, expiresInSeconds: 604801 }],
    ['grant expiring at the latest allowed', '/v1/accounts/{accountId}/grants', '/v1/accounts/acct_a/grants', { amount: 1, expiresAt: '9999-12-31T23:59:59.999Z' }],
    ['grant expiring with an offset', '/v1/accounts/{accountId}/grants', '/v1/accounts/acct_a/grants', { amount: 1, expiresAt: '2999-12-31T23:59:59+01:00' }],
    ['grant expiring without seconds', '/v1/accounts/{accountId}/grants', '/v1/accounts/acct_a/grants', { amount: 1, expiresAt: '2999-12-31T23:59Z' }],
    ['api key of 100 characters', '/v1/api-keys', '/v1/api-keys', { name: 'n'.repeat(100) }],
    ['api key of 101 characters', '/v1/api-keys', '/v1/api-keys', { name: 'n'.repeat(101) }],
    ['spend of 10^12', '/v1/accounts/{accountId}/spend', '/v1/accounts/acct_a/spend', { amount: 1e12 }],
    ['account email 320 characters', '/v1/accounts/{accountId}', '/v1/accounts/acct_a', { email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(61)}` }],
  ];
  const disagreements: string[] = [];
  for (const [name, template, url, body] of cases) {
    const method = url === '/v1/accounts/acct_a' ? 'PUT' : 'POST';
    const operation = doc.paths[template][method.toLowerCase()];
    const validate = ajv.compile(operation.requestBody.content['application/json'].schema);
    const documented = validate(body);
    const reply = await ctx.call(method, url, body, { 'idempotency-key': key('req') });
    const accepted = reply.status !== 400;
    t.comment(`${name}: document ${documented ? 'accepts' : 'refuses'}; Tally ${reply.status} ${reply.status === 400 ? reply.body.error.message : ''}`);
    if (documented !== accepted) disagreements.push(`${name}: document ${documented ? 'accepts' : `refuses (${ajv.errorsText(validate.errors)})`}, Tally answers ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
  }
  for (const d of disagreements) t.comment(d);
  t.same(disagreements, [], 'the document and Tally agree on every body');
});
