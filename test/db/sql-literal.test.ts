import { createRequire } from 'node:module';
import t from 'tap';
import { build } from '../helper.js';
import { literal, quoteLiteral } from '../../src/db/sql-literal.js';

const { escapeLiteral } = createRequire(import.meta.url)('pg/lib/utils') as { escapeLiteral(text: string): string };

const TRICKY = ['', 'plain', "it's", "''", '\\', 'a\\b', "\\'", "'\\", 'E\'x\'', '{"a":"b\\"c"}', 'naïve — ünïcödé 🚀', '\n\t\r', "x'); DROP TABLE grants; --"];

/** Strings of the characters that matter here, at random: quotes, backslashes, braces, others. */
function randomStrings(count: number): string[] {
  const alphabet = ["'", '\\', '"', '{', '}', ',', 'a', 'é', ' ', 'E'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: count }, () => Array.from({ length: next() % 24 }, () => alphabet[next() % alphabet.length]).join(''));
}

t.test('quoteLiteral writes exactly what node-postgres escapeLiteral writes', async (t) => {
  for (const text of [...TRICKY, ...randomStrings(2000)]) {
    if (quoteLiteral(text) !== escapeLiteral(text)) t.fail(`differs for ${JSON.stringify(text)}: ${quoteLiteral(text)} vs ${escapeLiteral(text)}`);
  }
  t.equal(quoteLiteral("a'b\\c"), " E'a''b\\\\c'");
  t.equal(quoteLiteral("a'b"), "'a''b'");
  t.equal(literal(null), 'NULL');
});

t.test('PostgreSQL reads every literal back as the text it was made from', async (t) => {
  const { database } = await build(t);
  const texts = [...TRICKY, ...randomStrings(200)];
  const { rows } = await database.pool.query(`SELECT ARRAY[${texts.map((text) => `${quoteLiteral(text)}::text`).join(', ')}] AS texts`);
  t.same(rows[0].texts, texts);
  const arrays = await database.pool.query(`SELECT ${literal([["it's", 'b\\"c'], ['{x}', null]])}::text[] AS a, ${literal(JSON.stringify({ q: "it's \\ fine" }))}::jsonb AS j`);
  t.same(arrays.rows[0], { a: [["it's", 'b\\"c'], ['{x}', null]], j: { q: "it's \\ fine" } });
});
