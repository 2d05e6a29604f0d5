import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { startPeriodic } from '../../src/lib/periodic.js';
import { startReconciler } from '../../src/stripe/reconciler.js';
import { eventually } from '../helper.js';

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('the first run comes after firstRunAfterMs, then one interval after another', async (t) => {
  const runs: number[] = [];
  const stop = startPeriodic(async () => void runs.push(Date.now()), HOUR, { failed: () => {} }, 20);
  t.teardown(stop);
  await eventually(async () => runs.length === 1);
  await sleep(200);
  t.equal(runs.length, 1, 'the next run waits a whole interval');
});

t.test('without firstRunAfterMs the first run waits one interval', async (t) => {
  let runs = 0;
  const stop = startPeriodic(async () => void runs++, HOUR, { failed: () => {} });
  await sleep(200);
  await stop();
  t.equal(runs, 0);
});

t.test('runs never overlap, a failure does not stop the next run, and stop waits for the run in progress', async (t) => {
  let running = 0;
  let most = 0;
  let runs = 0;
  let finished = 0;
  const errors: unknown[] = [];
  let succeeded = 0;
  const stop = startPeriodic(
    async () => {
      runs++;
      running++;
      most = Math.max(most, running);
      await sleep(60);
      running--;
      finished++;
      if (runs === 1) throw new Error('first run fails');
    },
    10,
    { failed: (error) => errors.push(error), succeeded: () => succeeded++ },
    0,
  );
  await eventually(async () => runs >= 3);
  await stop();
  const after = runs;
  t.equal(finished, runs, 'stop returned only once the run in progress had finished');
  t.equal(most, 1, 'one run at a time, although the interval is shorter than a run');
  t.match(errors, [/first run fails/], 'the failure went to the report');
  t.equal(succeeded, runs - 1, 'and every other run, as gone through');
  await sleep(100);
  t.equal(runs, after, 'nothing runs after stop');
});

t.test('the reconciler runs its first pass soon after the start, whatever the interval, each pass in turn', async (t) => {
  const lines: string[] = [];
  const logger = pino({}, new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) }));
  const order: string[] = [];
  const stop = startReconciler(
    [
      {
        name: 'failing pass',
        run: async () => {
          order.push('failing');
          throw new Error('Stripe is down');
        },
      },
      { name: 'second pass', run: async () => void order.push('second') },
    ],
    HOUR,
    logger,
    20,
  );
  t.teardown(stop);
  await eventually(async () => order.length === 2);
  t.same(order, ['failing', 'second'], 'a failing pass does not keep the next from running');
  t.ok(lines.some((line) => line.includes('failing pass failed') && line.includes('Stripe is down')), 'the failure is logged with its pass');
});
