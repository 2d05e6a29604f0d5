import t from 'tap';
import { build } from '../helper.js';
import { HeldConnections } from '../../src/db/held-connections.js';

t.test('a connection is kept while more work waits, handed over at once, and given back to the pool after', async (t) => {
  const { database } = await build(t);
  const pool = database.pool;
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
  const { database } = await build(t);
  const pool = database.pool;
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
