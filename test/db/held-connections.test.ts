import t from 'tap';
import pg from 'pg';
import { serverUrl, type TestContext } from '../helper.js';
import { createTestDatabase } from '../database.js';
import { HeldConnections } from '../../src/db/held-connections.js';

/** A pool of the test's own, with no app beside it: the app's background work would move the pool's counts. */
async function ownPool(t: TestContext): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: await createTestDatabase(await serverUrl(t)), max: 4 });
  t.teardown(() => pool.end());
  return pool;
}

t.test('a connection is kept while more work waits, handed over at once, and given back to the pool after', async (t) => {
  const pool = await ownPool(t);
  let more = true;
  const connections = new HeldConnections(pool, () => more);
  const first = await connections.acquire();
  const pid = (await first.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const idleBefore = pool.idleCount;
  connections.release(first, false);
  t.equal(pool.idleCount, idleBefore, 'kept, not back in the pool');
  const again = connections.acquire();
  t.notOk(again instanceof Promise, 'a kept connection is there without waiting');
  t.equal((await (again as typeof first).query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid, 'the same connection');
  connections.release(again as typeof first, false);
  connections.releaseKept();
  t.equal(pool.idleCount, idleBefore + 1, 'back in the pool');
  more = false;
  const third = await connections.acquire();
  connections.release(third, false);
  t.equal(pool.idleCount, idleBefore + 1, 'with no work waiting, it goes straight back');
});

t.test('a broken connection is never kept, and a kept one that fails is dropped, not left to crash the process', async (t) => {
  const pool = await ownPool(t);
  const connections = new HeldConnections(pool, () => true);
  const broken = await connections.acquire();
  const total = pool.totalCount;
  connections.release(broken, true);
  t.equal(pool.totalCount, total - 1, 'a broken one is closed');

  const kept = await connections.acquire();
  const pid = (await kept.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  connections.release(kept, false);
  const failed = new Promise((resolve) => kept.once('error', resolve));
  await pool.query('SELECT pg_terminate_backend($1)', [pid]);
  await failed;
  const next = connections.acquire();
  t.ok(next instanceof Promise, 'the failed connection is not handed out: a new one comes from the pool');
  const live = await next;
  t.not((await live.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid, 'the next batch gets a live connection');
  connections.release(live, true);
});

t.test('a connection in use whose server goes away fails its query, does not crash the process, and is never handed out again', async (t) => {
  const pool = await ownPool(t);
  const connections = new HeldConnections(pool, () => true);
  const inUse = await connections.acquire();
  const pid = (await inUse.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const sleeping = inUse.query('SELECT pg_sleep(30)').then(() => 'answered', (error: Error) => error.message);
  // pg emits 'error' (which ends a process that does not listen for it) just before 'end'.
  const ended = new Promise((resolve) => inUse.once('end', resolve));
  await pool.query('SELECT pg_terminate_backend($1)', [pid]);
  t.match(await sleeping, /terminating connection/, 'its query fails');
  await ended;
  const total = pool.totalCount;
  connections.release(inUse, false);
  t.equal(pool.totalCount, total - 1, 'given back as broken although its user did not say so: closed, not kept');
  const next = connections.acquire();
  t.ok(next instanceof Promise, 'a new one comes from the pool');
  const live = await next;
  t.not((await live.query('SELECT pg_backend_pid() AS pid')).rows[0].pid, pid);
  connections.release(live, true);
});
