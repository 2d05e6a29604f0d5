import t from 'tap';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, configObject, loadConfig } from '../../src/config.js';

const KEY = 'sk_test_config';
const SECRET = 'whsec_config';
const DB_URL = 'postgresql://tally@db:5432/tally';

/** The configuration problem loadConfig throws for `env`, or undefined when it accepts it. */
function refusal(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message;
  }
}

t.test('with no Stripe setting, Tally uses its simulator, except in production', async (t) => {
  t.equal(loadConfig({}).STRIPE_SIMULATOR, 'auto');
  t.equal(refusal({}), undefined, 'npm start with no configuration');
  t.equal(refusal({ NODE_ENV: 'development' }), undefined);
  const message = refusal({ NODE_ENV: 'production' });
  t.match(message, /^Invalid configuration:\n {2}STRIPE_SECRET_KEY: required when NODE_ENV=production/);
  t.match(message, /checkouts take no money \(set STRIPE_SIMULATOR=on/, 'and says why, and how to mean it');
  for (const spelled of ['Production', 'PRODUCTION', ' production ']) {
    t.match(refusal({ NODE_ENV: spelled }), /STRIPE_SECRET_KEY: required when NODE_ENV=production/, `NODE_ENV=${JSON.stringify(spelled)} is production`);
  }
  t.equal(refusal({ NODE_ENV: 'production', STRIPE_SIMULATOR: 'on' }), undefined, 'a demo in production opts in');
  t.equal(refusal({ NODE_ENV: 'production', STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: SECRET, DATABASE_URL: DB_URL }), undefined, 'a real deployment');
});

t.test('production keeps its ledger in the database DATABASE_URL names, except a demo', async (t) => {
  const stripe = { STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: SECRET };
  const message = refusal({ NODE_ENV: 'production', ...stripe, TALLY_DATA_DIR: '/app/.data' });
  t.match(message, /^Invalid configuration:\n {2}DATABASE_URL: required when NODE_ENV=production/);
  t.match(message, /embedded PostgreSQL in TALLY_DATA_DIR \(\/app\/\.data\), which a container loses/, 'and says why');
  t.equal(refusal({ ...stripe }), undefined, 'outside production the embedded PostgreSQL is the default');
  t.equal(refusal({ NODE_ENV: 'production', STRIPE_SIMULATOR: 'on' }), undefined, 'a demo may keep it too');
  t.match(refusal({ NODE_ENV: 'production', ...stripe, DATABASE_URL: '' }), /DATABASE_URL: required when NODE_ENV=production/, 'empty counts as unset');
  // Both missing: both named, the Stripe key first.
  t.match(refusal({ NODE_ENV: 'production' }), /^Invalid configuration:\n {2}STRIPE_SECRET_KEY: .*\n {2}DATABASE_URL: required/);
});

t.test('contradictory or incomplete Stripe settings are refused, each naming its variable', async (t) => {
  t.match(refusal({ STRIPE_SECRET_KEY: KEY }), /STRIPE_WEBHOOK_SECRET: required with STRIPE_SECRET_KEY/);
  t.match(refusal({ STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_SIMULATOR: 'on' }), /STRIPE_SIMULATOR: on, but STRIPE_SECRET_KEY is set too/);
  t.match(refusal({ STRIPE_SIMULATOR: 'off' }), /STRIPE_SECRET_KEY: required: STRIPE_SIMULATOR is off/);
  t.equal(refusal({ STRIPE_SIMULATOR: 'off', STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: SECRET }), undefined);
  t.match(refusal({ STRIPE_SIMULATOR: 'yes' }), /STRIPE_SIMULATOR: .*"yes"/, 'an unknown value is shown');
  // An empty variable (as docker-compose passes an unset one) counts as unset.
  t.match(refusal({ NODE_ENV: 'production', STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' }), /STRIPE_SECRET_KEY: required when NODE_ENV=production/);
});

t.test('DATABASE_TIMEOUT_MS: 10 s unless set, at least one second', async (t) => {
  t.equal(loadConfig({}).DATABASE_TIMEOUT_MS, 10_000);
  t.equal(loadConfig({ DATABASE_TIMEOUT_MS: '3000' }).DATABASE_TIMEOUT_MS, 3000);
  t.match(refusal({ DATABASE_TIMEOUT_MS: '500' }), /DATABASE_TIMEOUT_MS: .*1000/, 'half a second would end transactions idle a quarter of one: refused, naming the variable');
});

t.test('a DATABASE_URL that is not a URL is refused at once, naming the variable but not showing its password', async (t) => {
  // A password with an unencoded #, or a port out of range: the first connection would throw deep inside, printing the URL.
  for (const url of ['postgresql://tally:p#ssw0rd@db:5432/tally', 'postgresql://tally:p4ssw0rd@db:99999/tally']) {
    const message = refusal({ DATABASE_URL: url });
    t.match(message, /DATABASE_URL: not a valid URL \(a password or user with @ : \/ \? # or % in it must be percent-encoded/, url);
    t.notMatch(message, /ssw0rd/, 'the password is not in the message');
  }
  t.equal(refusal({ DATABASE_URL: 'postgresql://tally:p%23ssw0rd@db:5432/tally' }), undefined, 'percent-encoded, it is accepted');
  t.equal(refusal({ DATABASE_URL: DB_URL }), undefined);
});

t.test("a wrong URL with a user and password in it (STRIPE_API_URL) is refused, shown without them", async (t) => {
  for (const url of ['ftp://proxy-user:proxy-s3cret@stripe.internal', 'http://proxy-user:proxy-s3cret@stripe internal/', 'http://proxy-user:pr@xy-s3cret@stripe internal/']) {
    const message = refusal({ STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_URL: url });
    t.match(message, /STRIPE_API_URL: .*\(got "(ftp|http):\/\/…@stripe.internal/, url);
    t.notMatch(message, /s3cret|proxy-user/, 'neither the password nor the user');
  }
});

t.test('an interval longer than a Node timer can keep is refused, not run every millisecond', async (t) => {
  // setInterval turns anything above 2^31 - 1 ms into 1 ms (TimeoutOverflowWarning): "once a month" would be a busy loop.
  for (const name of ['SWEEP_INTERVAL_MS', 'IDEMPOTENCY_PURGE_INTERVAL_MS', 'WEBHOOK_RETRY_INTERVAL_MS', 'CHECKOUT_RECONCILE_INTERVAL_MS']) {
    t.match(refusal({ [name]: '2678400000' }), new RegExp(`${name}: at most 2147483647`), name);
    t.equal(refusal({ [name]: '2147483647' }), undefined, `${name} at the most a timer keeps`);
  }
  t.equal(loadConfig({ CHECKOUT_RECONCILE_INTERVAL_MS: '0' }).CHECKOUT_RECONCILE_INTERVAL_MS, 0, 'the reconciler may still be turned off');
  t.match(refusal({ CHECKOUT_RECONCILE_INTERVAL_MS: '50' }), /CHECKOUT_RECONCILE_INTERVAL_MS: 0 \(off\) or at least 100/);
});

t.test('TALLY_REDIRECT_ORIGINS that are not origins are refused at start, naming the variable', async (t) => {
  // Before, a bare host name threw TypeError: Invalid URL from inside the billing plugin, a crash with a stack trace.
  t.match(refusal({ TALLY_REDIRECT_ORIGINS: 'shop.example.com' }), /TALLY_REDIRECT_ORIGINS: comma-separated http\(s\) origins.*\(got "shop\.example\.com"\)/);
  t.match(refusal({ TALLY_REDIRECT_ORIGINS: 'https://shop.example.com, app.example.com' }), /TALLY_REDIRECT_ORIGINS: /, 'one bad entry among good ones');
  t.match(refusal({ TALLY_REDIRECT_ORIGINS: ',' }), /TALLY_REDIRECT_ORIGINS: /, 'no origin at all');
  t.equal(refusal({ TALLY_REDIRECT_ORIGINS: 'https://shop.example.com, http://localhost:8080,' }), undefined);
});

t.test('a live Stripe key is not sent to a stand-in server (STRIPE_API_URL)', async (t) => {
  const stripe = { STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_API_URL: 'http://stripe-mock:12111' };
  for (const key of ['sk_live_0123456789', 'rk_live_0123456789']) {
    const message = refusal({ ...stripe, STRIPE_SECRET_KEY: key });
    t.match(message, /STRIPE_API_URL: set, but STRIPE_SECRET_KEY is a live key/, key);
    t.notMatch(message, /0123456789/, 'the key is not shown');
  }
  t.equal(refusal({ ...stripe, STRIPE_SECRET_KEY: 'sk_test_0123456789' }), undefined, 'a test key may talk to stripe-mock');
  t.equal(refusal({ STRIPE_WEBHOOK_SECRET: SECRET, STRIPE_SECRET_KEY: 'sk_live_0123456789' }), undefined, 'a live key talks to Stripe');
});

t.test('an empty number setting is unset: its default applies, never 0', async (t) => {
  // docker-compose.yml passes optional settings as `${VAR:-}`, '' when the shell has none. Read through
  // z.coerce.number(), '' (and ' ') was 0: PORT a random port, CHECKOUT_RECONCILE_INTERVAL_MS the reconciler
  // off, LEDGER_CACHE_ACCOUNTS no cache, DATABASE_WAIT_SECONDS a single try.
  const defaults = Object.entries(loadConfig({})).filter(([, value]) => typeof value === 'number');
  t.ok(defaults.some(([name]) => name === 'PORT'), 'every number setting, from the defaults');
  for (const [name, fallback] of defaults) {
    for (const value of ['', ' ', '\t']) {
      const got = refusal({ [name]: value }) ?? (loadConfig({ [name]: value }) as Record<string, unknown>)[name];
      t.equal(got, fallback, `${name}=${JSON.stringify(value)}`);
    }
  }
  t.equal(loadConfig({ PORT: '0' }).PORT, 0, 'an explicit 0 is still 0');
  t.match(loadConfig({ HOST: ' ', LOG_LEVEL: '', TALLY_ADMIN_KEY: ' ' }), { HOST: '0.0.0.0', LOG_LEVEL: 'info', TALLY_ADMIN_KEY: undefined }, 'text settings too');
});

t.test("the README's table gives every numeric variable's range as the configuration enforces it", async (t) => {
  const rows = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n').filter((line) => line.startsWith('| `'));
  const numeric = Object.entries(configObject.shape).flatMap(([name, schema]) => {
    const inner = schema instanceof z.ZodDefault || schema instanceof z.ZodOptional ? schema.unwrap() : schema;
    return inner instanceof z.ZodNumber ? [{ name, min: inner.minValue, max: inner.maxValue }] : [];
  });
  t.ok(numeric.length >= 15, `${numeric.length} numeric variables`);
  for (const { name, min, max } of numeric) {
    const row = rows.find((line) => line.split('|')[1].includes(`\`${name}\``));
    t.ok(row, `${name} has a row`);
    t.match(row, new RegExp(`\\(ranges? [^)]*\\b${min}\\b[^)]*–${max}\\b`), `${name}: ${min} to ${max}`);
    t.equal(refusal({ [name]: String(max! + 1) }) !== undefined && refusal({ [name]: String(min! - 1) }) !== undefined, true, `${name}: outside refused`);
  }
  t.match(refusal({ CHECKOUT_RECONCILE_AFTER_SECONDS: '2592000' }), /CHECKOUT_RECONCILE_AFTER_SECONDS/, 'a reconciler waiting a month is refused');
});
