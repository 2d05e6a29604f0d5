import { gzipSync } from 'node:zlib';
import t from 'tap';
import { ADMIN_KEY, build, key } from '../helper.js';

async function rowCounts(pool: import('pg').Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query(`SELECT
    (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM grants)::int AS grants,
    (SELECT count(*) FROM holds)::int AS holds, (SELECT count(*) FROM ledger_entries)::int AS entries,
    (SELECT count(*) FROM idempotency_records)::int AS idempotency`);
  return rows[0];
}

t.test('bad input gets a 4xx with the error shape and writes nothing', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_v', {});
  await call('POST', '/v1/accounts/acct_v/grants', { amount: 100 }, { 'idempotency-key': key() });
  const before = await rowCounts(database.pool);
  const spend = (body: unknown, headers: Record<string, string> = { 'idempotency-key': key() }) => call('POST', '/v1/accounts/acct_v/spend', body, headers);

  const cases: Array<[string, Promise<{ status: number; body: any }>, number, string]> = [
    ['malformed JSON', spend('{"amount": 1'), 400, 'invalid_json'],
    ['amount as a string', spend({ amount: '5' }), 400, 'invalid_request'],
    ['negative amount', spend({ amount: -5 }), 400, 'invalid_request'],
    ['zero amount', spend({ amount: 0 }), 400, 'invalid_request'],
    ['fractional amount', spend({ amount: 1.5 }), 400, 'invalid_request'],
    ['huge amount', spend({ amount: 1e12 + 1 }), 400, 'invalid_request'],
    ['amount beyond 2^53', spend('{"amount": 123456789012345678901234567890}'), 400, 'invalid_request'],
    ['unknown field', spend({ amount: 1, extra: true }), 400, 'invalid_request'],
    ['missing amount', spend({}), 400, 'invalid_request'],
    ['no idempotency key', spend({ amount: 1 }, {}), 400, 'invalid_request'],
    ['an idempotency key of 256 characters', spend({ amount: 1 }, { 'idempotency-key': 'k'.repeat(256) }), 400, 'invalid_request'],
    ['metadata too deep', spend({ amount: 1, metadata: { a: { b: 1 } } }), 400, 'invalid_request'],
    ['a metadata value too long', spend({ amount: 1, metadata: { a: 'x'.repeat(501) } }), 400, 'invalid_request'],
    ['a metadata key too long', spend({ amount: 1, metadata: { ['k'.repeat(41)]: 1 } }), 400, 'invalid_request'],
    ['a 2 MB body', spend(JSON.stringify({ amount: 1, reason: 'x'.repeat(2 * 1024 * 1024) })), 413, 'body_too_large'],
    ['a bad accountId', call('POST', '/v1/accounts/bad%20id!/spend', { amount: 1 }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['an accountId of 129 characters', call('PUT', `/v1/accounts/${'a'.repeat(129)}`, {}), 400, 'invalid_request'],
    ['a bad email', call('PUT', '/v1/accounts/acct_new', { email: 'not-an-email' }), 400, 'invalid_request'],
    ['grant expiring in the past', call('POST', '/v1/accounts/acct_v/grants', { amount: 1, expiresAt: '2020-01-01T00:00:00Z' }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['hold expiring in 8 days', call('POST', '/v1/accounts/acct_v/holds', { amount: 1, expiresInSeconds: 8 * 86400 }, { 'idempotency-key': key() }), 400, 'invalid_request'],
    ['ledger limit 0', call('GET', '/v1/accounts/acct_v/ledger?limit=0'), 400, 'invalid_request'],
    ['a ledger cursor not of digits', call('GET', '/v1/accounts/acct_v/ledger?cursor=zzz'), 400, 'invalid_request'],
    ['a ledger cursor beyond a bigint', call('GET', '/v1/accounts/acct_v/ledger?cursor=9999999999999999999'), 400, 'invalid_request'],
    ['unknown route', call('GET', '/v1/nothing'), 404, 'route_not_found'],
    ['a malformed percent-encoding in the path', call('GET', '/v1/accounts/%E0%A4%A'), 400, 'invalid_url'],
    ['a path parameter over 300 characters', call('GET', `/v1/accounts/${'a'.repeat(400)}`), 414, 'path_too_long'],
    ['unknown account', call('GET', '/v1/accounts/nobody/balance'), 404, 'account_not_found'],
  ];
  for (const [name, reply, status, code] of cases) {
    const { status: got, body } = await reply;
    t.equal(got, status, `${name}: status`);
    t.equal(body?.error?.code, code, `${name}: code`);
    t.type(body?.error?.message, 'string', `${name}: message`);
  }
  const wrongType = await spend({ amount: '5' });
  t.match(wrongType.body.error.details.issues[0], { field: 'body.amount' }, 'the error names the field');
  const metadataMessages = async (metadata: unknown) => (await spend({ amount: 1, metadata })).body.error.details.issues;
  for (const limit of ['abc', '0', '201', '1.5', '1&limit=2']) {
    const listed = await call('GET', `/v1/accounts/acct_v/ledger?limit=${limit}`);
    t.same(listed.body.error?.details?.issues, [{ field: 'querystring.limit', message: 'must be a whole number from 1 to 200, given once' }], `limit=${limit}`);
  }
  const keyMessage = async (headers: Record<string, string>) => (await spend({ amount: 1 }, headers)).body.error.details.issues[0]?.message;
  t.equal(await keyMessage({}), 'the Idempotency-Key header is required');
  t.match(await keyMessage({ 'idempotency-key': 'k'.repeat(256) }), /at most 255 characters/, 'a key too long is not called missing');
  t.same(await metadataMessages({ a: { b: 1 } }), [{ field: 'body.metadata.a', message: 'must be a string of at most 500 characters, a number, a boolean or null' }]);
  t.same(await metadataMessages({ ['k'.repeat(41)]: 1 }), [{ field: `body.metadata.${'k'.repeat(41)}`, message: 'keys are at most 40 characters' }]);
  t.same(await rowCounts(database.pool), before, 'no row was written');
});

t.test('a body that is not JSON as sent says what is wrong with it, and writes nothing', async (t) => {
  const { app, call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_body', {});
  await call('POST', '/v1/accounts/acct_body/grants', { amount: 100 }, { 'idempotency-key': key() });
  const before = await rowCounts(database.pool);
  const spend = (payload: string | Buffer, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/accounts/acct_body/spend',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'idempotency-key': key(), ...headers },
      payload,
    });
  const cases: Array<[string, Promise<{ statusCode: number; json(): any }>, number, string, RegExp]> = [
    ['cut short', spend('{"amount": 1'), 400, 'invalid_json', /^The body is not valid JSON: .*position 12/],
    ['a trailing comma', spend('{"amount": 1,}'), 400, 'invalid_json', /^The body is not valid JSON: /],
    ['empty, where a body is needed', spend(''), 400, 'invalid_request', /^Invalid request: body: a JSON body is required$/],
    ['none, where a body is needed', app.inject({ method: 'POST', url: '/v1/accounts/acct_body/spend', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': key() } }), 400, 'invalid_request', /^Invalid request: body: a JSON body is required$/],
    ['__proto__', spend('{"amount": 1, "__proto__": {"admin": true}}'), 400, 'invalid_json', /"__proto__"/],
    ['constructor.prototype', spend('{"amount": 1, "constructor": {"prototype": {"admin": true}}}'), 400, 'invalid_json', /"constructor.prototype"/],
    ['bytes that are not UTF-8', spend(Buffer.concat([Buffer.from('{"amount": 1, "reason": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), 400, 'invalid_json', /^The body is not valid UTF-8/],
    ['gzip', spend(gzipSync(JSON.stringify({ amount: 1 })), { 'content-encoding': 'gzip' }), 415, 'unsupported_content_encoding', /'gzip' is not supported/],
    ['br, even of plain bytes', spend(JSON.stringify({ amount: 1 }), { 'content-encoding': 'br' }), 415, 'unsupported_content_encoding', /'br'/],
    ['a charset other than UTF-8', spend(JSON.stringify({ amount: 1 }), { 'content-type': 'application/json; charset=utf-16' }), 415, 'unsupported_charset', /'utf-16' is not supported/],
    ['a quoted charset', spend(JSON.stringify({ amount: 1 }), { 'content-type': 'application/json; charset="latin1"' }), 415, 'unsupported_charset', /'latin1'/],
  ];
  for (const [name, reply, status, code, message] of cases) {
    const answer = await reply;
    t.equal(answer.statusCode, status, `${name}: status`);
    t.match(answer.json().error, { code, message }, `${name}: ${answer.json().error?.message}`);
  }
  t.same(await rowCounts(database.pool), before, 'no row was written');
  const withCharset = await spend(JSON.stringify({ amount: 1 }), { 'content-type': 'Application/JSON; charset=utf-8' });
  t.equal(withCharset.statusCode, 200, `a charset parameter is still JSON: ${withCharset.body}`);
  t.equal((await spend(JSON.stringify({ amount: 1 }), { 'content-type': 'application/json;charset=UTF8' })).statusCode, 200, 'UTF8, without a space or a dash');
  const otherType = await spend('<amount>1</amount>', { 'content-type': 'application/xml' });
  t.match({ status: otherType.statusCode, code: otherType.json().error?.code }, { status: 415, code: 'unsupported_media_type' }, 'another media type is a 415');
  const text = await spend(JSON.stringify({ amount: 1 }), { 'content-type': 'text/plain;charset=UTF-8' });
  t.equal(text.statusCode, 415, 'JSON sent as text/plain (fetch with a string body and no Content-Type) is a 415');
  t.same(text.json().error, { code: 'unsupported_media_type', message: "Content-Type 'text/plain;charset=UTF-8' is not supported: send the body as JSON, with Content-Type: application/json" });
  const untyped = await app.inject({ method: 'POST', url: '/v1/accounts/acct_body/spend', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'idempotency-key': key() }, payload: Buffer.from('{"amount":1}') });
  t.same({ status: untyped.statusCode, ...untyped.json().error }, { status: 415, code: 'unsupported_media_type', message: 'A body was sent without a Content-Type: send the body as JSON, with Content-Type: application/json' });
  const identity = await spend(JSON.stringify({ amount: 1 }), { 'content-encoding': 'identity' });
  t.equal(identity.statusCode, 200, 'Content-Encoding: identity is no encoding');
  t.equal((await call('GET', '/v1/accounts/acct_body/balance')).body.available, 97, 'the three spends that were JSON, and only those');
  t.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was touched');
  const hold = (await call('POST', '/v1/accounts/acct_body/holds', { amount: 5 }, { 'idempotency-key': key() })).body;
  const released = await app.inject({ method: 'POST', url: `/v1/holds/${hold.id}/release`, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, payload: '' });
  t.equal(released.statusCode, 200, `an empty body with Content-Type: application/json is no body, where a route needs none: ${released.body}`);
  t.equal(released.json().status, 'released');
});

t.test('text PostgreSQL cannot keep (U+0000, an unpaired surrogate) is a 400 naming the field, and writes nothing', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_text', {});
  await call('POST', '/v1/accounts/acct_text/grants', { amount: 100 }, { 'idempotency-key': key() });
  const before = await rowCounts(database.pool);
  const spend = (body: unknown) => call('POST', '/v1/accounts/acct_text/spend', body, { 'idempotency-key': key() });

  const cases: Array<[string, Promise<{ status: number; body: any }>, string, RegExp]> = [
    ['U+0000 in a reason', spend({ amount: 1, reason: 'a\u0000b' }), 'body.reason', /U\+0000/],
    ['an unpaired high surrogate in a metadata value', spend({ amount: 1, metadata: { k: 'x\ud800' } }), 'body.metadata.k', /surrogate/],
    ['an unpaired low surrogate in a metadata value', spend({ amount: 1, metadata: { k: '\udc00y' } }), 'body.metadata.k', /surrogate/],
    ['U+0000 in a metadata key', spend({ amount: 1, metadata: { 'a\u0000': 'v' } }), 'body.metadata', /^keys /],
    ['U+0000 in an account name', call('PUT', '/v1/accounts/acct_text', { name: 'n\u0000' }), 'body.name', /U\+0000/],
    ['U+0000 in a new account', call('PUT', '/v1/accounts/acct_text2', { metadata: { k: '\u0000' } }), 'body.metadata.k', /U\+0000/],
    ['U+0000 in a bill id', call('GET', '/v1/bills/%00'), 'params.billId', /U\+0000/],
    ['U+0000 in a pack id', call('GET', '/v1/packs/%00'), 'params.packId', /U\+0000/],
  ];
  for (const [name, reply, field, message] of cases) {
    const { status, body } = await reply;
    t.equal(status, 400, `${name}: status`);
    t.equal(body?.error?.code, 'invalid_request', `${name}: code`);
    t.match(body?.error?.details?.issues, [{ field, message }], `${name}: the field`);
  }
  t.same(await rowCounts(database.pool), before, 'no row was written');
  t.same((await call('GET', '/v1/accounts/acct_text')).body.name, null, 'the account keeps its name');
});

t.test('a bad request does not take down the spends that share its ledger batch; paired surrogates are kept', async (t) => {
  const { call, database } = await build(t);
  await call('PUT', '/v1/accounts/acct_mates', {});
  await call('POST', '/v1/accounts/acct_mates/grants', { amount: 100 }, { 'idempotency-key': key() });
  const spend = (reason: string) => call('POST', '/v1/accounts/acct_mates/spend', { amount: 1, reason }, { 'idempotency-key': key() });
  // Sent together, so the ledger batches them.
  const replies = await Promise.all([spend('ok 1'), spend('bad \u0000'), spend('ok 2 💳'), spend('bad \ud83d'), spend('ok 3')]);
  t.same(
    replies.map((r) => r.status),
    [200, 400, 200, 400, 200],
  );
  t.equal((await call('GET', '/v1/accounts/acct_mates/balance')).body.available, 97, 'three spends, each once');
  const { rows } = await database.pool.query(`SELECT reason FROM ledger_entries WHERE account_id = 'acct_mates' AND reason LIKE 'ok 2%'`);
  t.same(rows, [{ reason: 'ok 2 💳' }], 'an emoji (a paired surrogate) is kept as sent');
});

t.test('an account is created with its fields in one transaction, or not at all', async (t) => {
  const { app, database } = await build(t);
  // The route refuses this text before it gets here; the database refusing it stands for any failure of the second statement.
  await t.rejects(app.accounts.upsert('acct_atomic', { name: 'kept?', metadata: { k: '\u0000' } }), { message: /tx.account.update[\s\S]*unsupported Unicode escape sequence/ }, 'the second statement fails');
  const { rows } = await database.pool.query(`SELECT id FROM accounts WHERE id = 'acct_atomic'`);
  t.same(rows, [], 'no account was left behind');
  const { account, created } = await app.accounts.upsert('acct_atomic', { name: 'kept' });
  t.equal(created, true, 'a retry creates it');
  t.equal(account.name, 'kept');
});

t.test("a capture's amount: a whole number from 0 to 10^12, and the message says which rule it broke", async (t) => {
  const { call } = await build(t);
  await call('PUT', '/v1/accounts/acct_cap', {});
  await call('POST', '/v1/accounts/acct_cap/grants', { amount: 100 }, { 'idempotency-key': key() });
  const hold = (await call('POST', '/v1/accounts/acct_cap/holds', { amount: 10 }, { 'idempotency-key': key() })).body;
  const cases: Array<[unknown, string]> = [
    [{}, 'must be a number'],
    [{ amount: '5' }, 'must be a number'],
    [{ amount: -1 }, 'must be 0 or more'],
    [{ amount: 1.5 }, 'must be an integer'],
    [{ amount: 1e12 + 1 }, 'must be at most 1000000000000'],
  ];
  for (const [body, message] of cases) {
    const reply = await call('POST', `/v1/holds/${hold.id}/capture`, body);
    t.equal(reply.status, 400, `${JSON.stringify(body)}: status`);
    t.same(reply.body.error.details.issues, [{ field: 'body.amount', message }], `${JSON.stringify(body)}: message`);
  }
  t.match((await call('GET', `/v1/holds/${hold.id}`)).body, { status: 'active' }, 'the hold is untouched');
  t.match((await call('POST', `/v1/holds/${hold.id}/capture`, { amount: 0 })).body, { status: 'captured', capturedAmount: 0 }, '0 is a capture of nothing');
});

t.test('PUT an account with no body creates it if missing and changes nothing', async (t) => {
  const ctx = await build(t, { listen: true });
  const put = () => fetch(`${ctx.url}/v1/accounts/acct_nobody_given`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const first = await put();
  t.equal(first.status, 201, 'created');
  await ctx.call('PUT', '/v1/accounts/acct_nobody_given', { name: 'Ada' });
  const second = await put();
  t.equal(second.status, 200);
  t.match(await second.json(), { id: 'acct_nobody_given', name: 'Ada' }, 'the name stays');
});

t.test('a name shown to people (a pack, a plan, a bill, an API key) is trimmed, and blank is a 400 that writes nothing', async (t) => {
  const { call, database } = await build(t);
  const pack = (await call('POST', '/v1/packs', { name: '  Starter ', credits: 10, unitAmount: 500, currency: 'usd' })).body;
  t.equal(pack.name, 'Starter', 'trimmed');
  const plan = (await call('POST', '/v1/plans', { name: 'Pro', credits: 10, unitAmount: 500, currency: 'usd', interval: 'month' })).body;
  const tables = async () => (await database.pool.query('SELECT (SELECT count(*) FROM packs)::int AS packs, (SELECT count(*) FROM plans)::int AS plans, (SELECT count(*) FROM api_keys)::int AS keys, (SELECT string_agg(name, \',\') FROM packs) AS names')).rows[0];
  const before = await tables();
  for (const [method, path, body] of [
    ['POST', '/v1/packs', { name: '   ', credits: 10, unitAmount: 500, currency: 'usd' }],
    ['PATCH', `/v1/packs/${pack.id}`, { name: '\t\n' }],
    ['POST', '/v1/plans', { name: ' ', credits: 10, unitAmount: 500, currency: 'usd', interval: 'month' }],
    ['PATCH', `/v1/plans/${plan.id}`, { name: '' }],
    ['POST', '/v1/api-keys', { name: '  ' }],
  ] as const) {
    const answer = await call(method, path, body);
    t.equal(answer.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    t.match(answer.body.error, { code: 'invalid_request', message: /name: (must not be blank|Too small)/ });
  }
  t.same(await tables(), before, 'nothing made or renamed');
});
