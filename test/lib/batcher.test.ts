import t from 'tap';
import { Batcher } from '../../src/lib/batcher.js';

/** A batch function whose batches the test finishes by hand, in the order it likes. */
function manualBatches() {
  const batches: Array<{ items: number[]; finish(): void; fail(error: Error): void }> = [];
  const execute = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push({ items, finish: () => resolve(items.map((i) => `done ${i}`)), fail: reject });
    });
  return { batches, execute };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('what arrives while a batch runs goes into the next one, and each caller gets its own result', async (t) => {
  const { batches, execute } = manualBatches();
  const batcher = new Batcher(execute, { maxBatch: 100, maxConcurrent: 1 });
  const first = batcher.submit(1);
  const rest = [2, 3, 4].map((i) => batcher.submit(i));
  await tick();
  t.same(batches.map((b) => b.items), [[1]]);
  t.equal(batcher.waiting, 3);
  batches[0].finish();
  t.equal(await first, 'done 1');
  t.same(batches.map((b) => b.items), [[1], [2, 3, 4]]);
  batches[1].finish();
  t.same(await Promise.all(rest), ['done 2', 'done 3', 'done 4']);
  t.equal(batcher.pending, 0);
});

t.test('the next batch starts before the callers of the finished one are answered', async (t) => {
  const { batches, execute } = manualBatches();
  const batcher = new Batcher(execute, { maxBatch: 100, maxConcurrent: 1 });
  const startedWhenAnswered: number[] = [];
  const first = batcher.submit(1).then(() => startedWhenAnswered.push(batches.length));
  void batcher.submit(2);
  await tick();
  batches[0].finish();
  await first;
  t.same(startedWhenAnswered, [2], 'batch [2] had started when the caller of batch [1] got its answer');
  batches[1].finish();
  await batcher.flush();
});

t.test('a failed batch runs each of its items again alone, so one bad item fails only itself', async (t) => {
  const calls: number[][] = [];
  const batcher = new Batcher(
    async (items: number[]) => {
      calls.push(items);
      if (items.includes(13)) throw new Error('thirteen');
      return items.map((i) => i * 10);
    },
    { maxBatch: 100, maxConcurrent: 1 },
  );
  const blocker = batcher.submit(0);
  const results = Promise.allSettled([1, 13, 2].map((i) => batcher.submit(i)));
  await blocker;
  const [one, thirteen, two] = await results;
  t.same(one, { status: 'fulfilled', value: 10 });
  t.equal(thirteen.status, 'rejected');
  t.equal((thirteen as PromiseRejectedResult).reason.message, 'thirteen');
  t.same(two, { status: 'fulfilled', value: 20 });
  t.same(calls, [[0], [1, 13, 2], [1], [13], [2]]);
  t.same(batcher.counts, { batches: 5, items: 7, failed: 2 }, 'counted as run: every attempt, its items, and the two that failed (the batch of three, then 13 alone)');
});

t.test('a batch that failed for none of its items (runAlone says so) fails them all with its error, none run again', async (t) => {
  const calls: number[][] = [];
  const gone = new Error('the database did not answer');
  const batcher = new Batcher(
    async (items: number[]) => {
      calls.push(items);
      if (items.includes(13)) throw new Error('thirteen');
      if (items.length > 1) throw gone;
      return items.map((i) => i * 10);
    },
    { maxBatch: 100, maxConcurrent: 1, runAlone: (error) => error !== gone },
  );
  const blocker = batcher.submit(0);
  const unreachable = Promise.allSettled([1, 2, 3].map((i) => batcher.submit(i)));
  await blocker;
  t.same(
    (await unreachable).map((r) => (r as PromiseRejectedResult).reason),
    [gone, gone, gone],
    'each caller gets the error of the batch',
  );
  const blocker2 = batcher.submit(0);
  const refused = Promise.allSettled([13, 4].map((i) => batcher.submit(i)));
  await blocker2;
  t.same(
    (await refused).map((r) => r.status),
    ['rejected', 'fulfilled'],
    'any other failure: each item alone, as before',
  );
  t.same(calls, [[0], [1, 2, 3], [0], [13, 4], [13], [4]]);
});

t.test('no more batches than maxConcurrent run at once, none larger than maxBatch; onIdle and flush follow the last', async (t) => {
  const { batches, execute } = manualBatches();
  let idle = 0;
  const batcher = new Batcher(execute, { maxBatch: 2, maxConcurrent: 2, onIdle: () => idle++ });
  const all = [1, 2, 3, 4, 5, 6].map((i) => batcher.submit(i));
  await tick();
  // An idle batcher starts at once: the first two arrivals each fill a free slot.
  t.same(batches.map((b) => b.items), [[1], [2]]);
  const flushed = batcher.flush();
  batches[1].finish();
  await tick();
  t.same(batches.map((b) => b.items), [[1], [2], [3, 4]]);
  batches[0].finish();
  await tick();
  t.same(batches.map((b) => b.items), [[1], [2], [3, 4], [5, 6]]);
  batches[2].finish();
  await tick();
  t.equal(idle, 0, 'not idle while a batch runs');
  batches[3].finish();
  await flushed;
  t.equal(idle, 1);
  t.same(await Promise.all(all), [1, 2, 3, 4, 5, 6].map((i) => `done ${i}`));
});
