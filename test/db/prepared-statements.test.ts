import t from 'tap';
import { build } from '../helper.js';
import { ensurePrepared, execute, preparedStatement } from '../../src/db/prepared-statements.js';

t.test('the casts of a statement give the types PREPARE declares', async (t) => {
  const statement = preparedStatement('t_types', 'SELECT $2::int + 1, $1::text[], array_length($1::text[], 1)');
  t.same(statement.types, ['text[]', 'int']);
  t.throws(() => preparedStatement('t_uncast', 'SELECT $1::int, $2'), /\$2/, 'a parameter without a cast');
  t.throws(() => preparedStatement('t_gap', 'SELECT $2::int'), /\$1/, 'a parameter never used');
  t.throws(() => preparedStatement('t_clash', 'SELECT $1::int, $1::text'), /both int and text/);
  t.throws(() => execute(statement, [['a']]), /takes 2 parameters, got 1/);
});

t.test('a prepared statement runs with literal parameters, once prepared per connection', async (t) => {
  const { database } = await build(t);
  const statement = preparedStatement('t_echo', `SELECT array_length($1::text[], 1) AS n, $2::jsonb ->> 'quote' AS quote`);
  const client = await database.pool.connect();
  t.teardown(() => client.release());
  await ensurePrepared(client, [statement]);
  await ensurePrepared(client, [statement]); // a second PREPARE of the same name would fail
  const params = [['a', "b'c", 'd"e'], JSON.stringify({ quote: "it's \\ fine" })];
  const results = (await client.query(`BEGIN; ${execute(statement, params)}; COMMIT`)) as unknown as Array<{ rows: Array<{ n: number; quote: string }> }>;
  t.same(results[1].rows, [{ n: 3, quote: "it's \\ fine" }]);
  const prepared = await client.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 't_echo'`);
  t.equal(prepared.rows[0].n, 1);
});
