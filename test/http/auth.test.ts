import t from 'tap';
import { ADMIN_KEY, build, eventually, key } from '../helper.js';
import { ApiKeys } from '../../src/domain/api-keys/api-keys.js';
import { bootstrapAdminKey } from '../../src/domain/api-keys/bootstrap-admin-key.js';
import type { PrismaClient } from '../../src/db/client.js';

t.test('keys: missing or unknown 401, wrong role 403, revoked 401', async (t) => {
  const { call, app, serviceKey } = await build(t);
  const none = await app.inject({ method: 'GET', url: '/v1/accounts/a/balance' });
  t.equal(none.statusCode, 401);
  t.equal(none.json().error.code, 'unauthorized');
  t.equal((await call('GET', '/v1/accounts/a/balance', undefined, { key: 'tally_svc_unknown' })).status, 401);

  t.equal((await call('PUT', '/v1/accounts/acct_k', {}, { key: serviceKey })).status, 201, 'a service key manages accounts');
  const grant = await call('POST', '/v1/accounts/acct_k/grants', { amount: 5 }, { key: serviceKey, 'idempotency-key': key() });
  t.equal(grant.status, 403, 'a service key cannot grant');
  t.equal(grant.body.error.code, 'forbidden');
  t.equal((await call('GET', '/v1/api-keys', undefined, { key: serviceKey })).status, 403);

  const created = await call('POST', '/v1/api-keys', { name: 'billing backend', role: 'service' });
  t.equal(created.status, 201);
  t.match(created.body, { name: 'billing backend', role: 'service', revokedAt: null });
  t.match(created.body.secret, /^tally_svc_/);
  t.equal((await call('GET', '/v1/accounts/acct_k/balance', undefined, { key: created.body.secret })).status, 200);
  for (const scheme of ['bearer', 'BEARER']) {
    const answer = await app.inject({ method: 'GET', url: '/v1/accounts/acct_k/balance', headers: { authorization: `${scheme} ${created.body.secret}` } });
    t.equal(answer.statusCode, 200, `the scheme is case-insensitive: ${scheme}`);
  }
  const listed = await call('GET', '/v1/api-keys');
  t.ok(listed.body.data.some((k: { id: string }) => k.id === created.body.id));
  t.notOk(JSON.stringify(listed.body).includes(created.body.secret), 'secrets are never listed');
  const { rows } = await app.db.pool.query('SELECT hash FROM api_keys WHERE id = $1', [created.body.id]);
  t.not(rows[0].hash, created.body.secret, 'stored hashed');

  const revoked = await call('DELETE', `/v1/api-keys/${created.body.id}`);
  t.equal(revoked.status, 200);
  t.ok(revoked.body.revokedAt);
  t.equal((await call('GET', '/v1/accounts/acct_k/balance', undefined, { key: created.body.secret })).status, 401, 'revoked at once');
  t.equal((await call('DELETE', '/v1/api-keys/key_nope')).status, 404);
  t.equal((await call('GET', '/healthz', undefined, { key: 'whatever' })).status, 200, 'health needs no key');
});

t.test('logs are JSON with a request id, and never show keys', async (t) => {
  const { call, logs, serviceKey } = await build(t, { env: { LOG_LEVEL: 'info' } });
  await call('PUT', '/v1/accounts/acct_log', {}, { key: serviceKey, 'x-request-id': 'req-abc-123' });
  await call('GET', '/v1/accounts/acct_log/balance', undefined, { key: 'tally_svc_wrong_secret_value' });
  const created = await call('POST', '/v1/api-keys', { name: 'k', role: 'service' });
  const lines = logs.join('').trim().split('\n');
  t.ok(lines.length > 2, 'requests are logged');
  const parsed = lines.map((line) => JSON.parse(line));
  t.ok(parsed.some((entry) => entry.reqId === 'req-abc-123'), 'the request id is on the log line');
  const text = logs.join('');
  for (const secret of [serviceKey, ADMIN_KEY, 'tally_svc_wrong_secret_value', created.body.secret]) t.notOk(text.includes(secret), 'no key in the logs');
});

/** The app's own Prisma client, counting the key lookups that reach the database. */
function countingKeyLookups(prisma: PrismaClient) {
  const counter = { lookups: 0 };
  const counting = new Proxy(prisma, {
    get(target, property, receiver) {
      if (property !== 'apiKey') return Reflect.get(target, property, receiver);
      const apiKey = target.apiKey;
      return new Proxy(apiKey, {
        get(inner, name, innerReceiver) {
          const value = Reflect.get(inner, name, innerReceiver);
          if (name !== 'findUnique') return typeof value === 'function' ? value.bind(inner) : value;
          return (...args: Parameters<typeof apiKey.findUnique>) => {
            counter.lookups++;
            return apiKey.findUnique(...args);
          };
        },
      });
    },
  });
  return { prisma: counting, get lookups() { return counter.lookups; } };
}

t.test('a key is looked up once for all the requests that need it at the same moment, and a revocation is never undone by a lookup in flight', async (t) => {
  const { app } = await build(t);
  const counted = countingKeyLookups(app.db.prisma);
  const keys = new ApiKeys(counted.prisma);
  const { secret, id } = await keys.create('burst', 'service');
  const principals = await Promise.all(Array.from({ length: 20 }, () => keys.verify(secret)));
  t.equal(counted.lookups, 1, 'twenty requests, one lookup');
  t.ok(principals.every((p) => p?.keyId === id && p.role === 'service'));
  await keys.verify(secret);
  t.equal(counted.lookups, 1, 'then served from the cache');

  const other = await keys.create('revoked while looked up', 'service');
  const inFlight = keys.verify(other.secret);
  await keys.revoke(other.id);
  await inFlight;
  t.equal(await keys.verify(other.secret), undefined, 'revoked: the earlier lookup did not put the key back in the cache');
});

t.test('a flood of made-up keys does not push the real ones out of the cache', async (t) => {
  const { app } = await build(t);
  const counted = countingKeyLookups(app.db.prisma);
  // Lookups kept for ten minutes, not 5 s: the flood may take longer than that on a busy machine.
  const keys = new ApiKeys(counted.prisma, undefined, 600_000);
  const { secret, id } = await keys.create('busy service', 'service');
  t.equal((await keys.verify(secret))?.keyId, id);
  const flood = Array.from({ length: 10_050 }, (_, i) => `tally_svc_made_up_${i}`);
  for (let i = 0; i < flood.length; i += 500) {
    const principals = await Promise.all(flood.slice(i, i + 500).map((made) => keys.verify(made)));
    t.ok(principals.every((p) => p === undefined), `made-up keys ${i}..${i + 499} are unknown`);
  }
  t.equal(counted.lookups, 1 + flood.length, 'each made-up key was looked up once');
  t.equal((await keys.verify(secret))?.keyId, id);
  t.equal(counted.lookups, 1 + flood.length, 'the real key is still served from the cache');
  await keys.verify(flood.at(-1)!);
  t.equal(counted.lookups, 1 + flood.length, 'and a made-up key repeated at once is not looked up again');
});

t.test('the last active admin key is kept unless TALLY_ADMIN_KEY is set; two revocations at once cannot leave none', async (t) => {
  const { app } = await build(t);
  const keys = new ApiKeys(app.db.prisma); // no TALLY_ADMIN_KEY
  const activeAdmins = async () => (await app.db.pool.query("SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL")).rows[0].n;
  const [a, b] = [await keys.create('ops a', 'admin'), await keys.create('ops b', 'admin')];
  const service = await keys.create('backend', 'service');
  t.ok(await keys.revoke(service.id), 'a service key goes');
  for (let round = 0; round < 5; round++) {
    const outcomes = await Promise.allSettled([keys.revoke(a.id), keys.revoke(b.id)]);
    t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}: one of the two is revoked`);
    t.match(outcomes.find((o) => o.status === 'rejected'), { reason: { code: 'last_admin_key', kind: 'conflict' } }, `round ${round}: the other is kept`);
    t.equal(await activeAdmins(), 1, `round ${round}: one admin key left`);
    // Put both back for the next round.
    await app.db.pool.query('UPDATE api_keys SET revoked_at = NULL WHERE id = ANY($1)', [[a.id, b.id]]);
  }
  await keys.revoke(a.id);
  await t.rejects(keys.revoke(b.id), { code: 'last_admin_key' });
  t.match(await new ApiKeys(app.db.prisma, 'a-bootstrap-admin-key-of-24-characters').revoke(b.id), { revokedAt: String }, 'with TALLY_ADMIN_KEY there is still a way in');
  t.equal(await activeAdmins(), 0);
});

t.test('over HTTP, without TALLY_ADMIN_KEY, the last admin key is a 409 naming the rule', async (t) => {
  const { call, app } = await build(t, { env: { TALLY_ADMIN_KEY: '' } });
  const only = await app.apiKeys.create('only admin', 'admin');
  await app.db.pool.query("UPDATE api_keys SET revoked_at = now() WHERE role = 'admin' AND id <> $1", [only.id]);
  const reply = await call('DELETE', `/v1/api-keys/${only.id}`, undefined, { key: only.secret });
  t.equal(reply.status, 409);
  t.match(reply.body.error, { code: 'last_admin_key', message: /create another admin key/ });
  t.equal((await call('GET', '/v1/api-keys', undefined, { key: only.secret })).status, 200, 'and it still works');
});

t.test('a key revoked through one Tally is refused by it at once, and by another on the same database within 5 s', async (t) => {
  const one = await build(t);
  const other = await build(t, { databaseUrl: one.databaseUrl });
  const { secret, id } = await one.app.apiKeys.create('revoked elsewhere', 'service');
  for (const tally of [one, other]) t.equal((await tally.call('GET', '/v1/packs', undefined, { key: secret })).status, 200, 'the key works on both (and each has verified it)');
  t.equal((await one.call('DELETE', `/v1/api-keys/${id}`)).status, 200);
  const revoked = await one.call('GET', '/v1/packs', undefined, { key: secret });
  t.equal(revoked.status, 401, 'refused at once where it was revoked');
  t.same(revoked.body, (await one.call('GET', '/v1/packs', undefined, { key: 'tally_svc_never_made' })).body, 'as an unknown key is: nothing tells that it existed');
  // The other process trusts what it verified for 5 s (CACHE_MS): then it asks the database again.
  await eventually(async () => (await other.call('GET', '/v1/packs', undefined, { key: secret })).status === 401);
  t.pass('refused by the other Tally once its 5 s are over');
});

t.test('two first starts at once on an external database make one first admin key between them, shown by one', async (t) => {
  const { app } = await build(t);
  const activeAdmins = async () => (await app.db.pool.query("SELECT count(*)::int AS n FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL")).rows[0].n;
  for (let round = 0; round < 5; round++) {
    await app.db.pool.query("DELETE FROM api_keys WHERE role = 'admin'");
    // Each start has its own ApiKeys (its own process); no TALLY_ADMIN_KEY, no data folder.
    const notices = await Promise.all([bootstrapAdminKey(new ApiKeys(app.db.prisma), {}), bootstrapAdminKey(new ApiKeys(app.db.prisma), {})]);
    t.same(notices.map((notice) => notice.kind).sort(), ['created', 'existing'], `round ${round}: one start made it, the other found it`);
    t.equal(await activeAdmins(), 1, `round ${round}: one admin key`);
  }
});

t.test('POST /v1/api-keys under an Idempotency-Key makes one key however often it is sent; the retry names it, without the secret', async (t) => {
  const { call } = await build(t);
  const idempotency = { 'idempotency-key': 'make-the-worker-key' };
  const body = { name: 'worker', role: 'service' };
  const racing = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/v1/api-keys', body, idempotency)));
  const made = racing.filter((answer) => answer.status === 201);
  t.equal(made.length, 1, 'one of five racing requests makes the key');
  t.match(made[0].body.secret, /^tally_svc_/, 'and is shown its secret');
  const id = made[0].body.id;
  for (const answer of [...racing.filter((a) => a.status !== 201), await call('POST', '/v1/api-keys', body, idempotency)]) {
    t.equal(answer.status, 409);
    t.match(answer.body.error, { code: 'api_key_already_created', details: { id } }, 'the others, and a later retry, name that key');
    t.notOk(JSON.stringify(answer.body).includes(made[0].body.secret), 'never its secret');
  }
  const other = await call('POST', '/v1/api-keys', { name: 'worker', role: 'admin' }, idempotency);
  t.match({ status: other.status, code: other.body.error.code }, { status: 409, code: 'idempotency_key_reused' }, 'another body under the key');
  const listed = (await call('GET', '/v1/api-keys')).body.data.filter((k: { name: string }) => k.name === 'worker');
  t.same(listed.map((k: { id: string }) => k.id), [id], 'one key made');
  const unkeyed = await Promise.all([call('POST', '/v1/api-keys', body), call('POST', '/v1/api-keys', body)]);
  t.same(unkeyed.map((a) => a.status), [201, 201], 'without the header, each request makes its own key');
  t.not(unkeyed[0].body.id, unkeyed[1].body.id);
});
