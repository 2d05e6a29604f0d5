import t from 'tap';
import pg from 'pg';
import { readInstanceId } from '../../src/db/instance-identity.js';
import { createTestDatabase } from '../database.js';
import { serverUrl } from '../helper.js';

t.test('processes starting together on a new database all get the one instance id the first wrote', async (t) => {
  for (let round = 0; round < 5; round++) {
    const url = await createTestDatabase(await serverUrl(t));
    const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: url, max: 1 }));
    t.teardown(() => Promise.all(pools.map((pool) => pool.end())));
    const ids = await Promise.all(pools.map((pool) => readInstanceId(pool)));
    t.equal(new Set(ids).size, 1, `round ${round}: one id`);
    t.match(ids[0], /^tally_[0-9A-Za-z]{20}$/);
    const { rows } = await pools[0].query('SELECT id FROM instance_identity');
    t.same(rows, [{ id: ids[0] }], 'one row, the id they were given');
    t.equal(await readInstanceId(pools[1]), ids[0], 'and a later start reads it again');
  }
});
