import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { BackgroundFailures, OUTAGE_REPEAT_MS } from '../../src/lib/background-failures.js';

function logged() {
  const lines: Array<{ level: number; msg: string; failedRuns?: number; forMs?: number; reason?: string }> = [];
  const logger = pino({}, new Writable({ write: (chunk, _encoding, done) => void (lines.push(JSON.parse(String(chunk))), done()) }));
  return { lines, logger };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const WARN = 40;
const INFO = 30;
const ERROR = 50;

t.test('a database that does not answer is said once, again once a minute with the runs failed, and its return once', async (t) => {
  const { lines, logger } = logged();
  let now = 1_000_000;
  const failures = new BackgroundFailures(logger, 'expiry sweep', () => now);
  for (let run = 0; run < 12; run++, now += 5_000) await failures.run(async () => Promise.reject(refused()));
  t.same(
    lines.map((l) => [l.level, l.msg, l.reason]),
    [[WARN, 'expiry sweep: the database does not answer; trying again every interval', 'connect ECONNREFUSED 127.0.0.1:5432']],
    'twelve runs in 55 s: one warning, no stack, no error',
  );
  // The twelfth run failed 55 s in; a minute in, the thirteenth fails.
  t.equal(now - 1_000_000, OUTAGE_REPEAT_MS);
  failures.failed(refused());
  t.same([lines[1].level, lines[1].msg, lines[1].failedRuns, lines[1].forMs], [WARN, 'expiry sweep: the database still does not answer', 13, OUTAGE_REPEAT_MS], 'a minute after: said again, with the runs failed since it began');
  now += 1_000;
  await failures.run(async () => 'swept');
  t.same([lines[2].level, lines[2].msg, lines[2].failedRuns, lines[2].forMs], [INFO, 'expiry sweep: the database answers again', 13, OUTAGE_REPEAT_MS + 1_000], 'its return, once');
  await failures.run(async () => 'swept');
  failures.failed(refused());
  t.equal(lines.length, 4, 'nothing more while it goes on working; a new outage is said anew');
  t.equal(lines[3].msg, 'expiry sweep: the database does not answer; trying again every interval');
});

t.test('any other failure is an error each time, with its stack', async (t) => {
  const { lines, logger } = logged();
  const failures = new BackgroundFailures(logger, 'idempotency purge');
  for (let run = 0; run < 3; run++) await failures.run(async () => Promise.reject(new TypeError('a bug')));
  t.same(
    lines.map((l) => [l.level, l.msg, (l as { err?: { stack?: string } }).err?.stack?.startsWith('TypeError: a bug')]),
    [0, 1, 2].map(() => [ERROR, 'idempotency purge failed', true]),
  );
});
