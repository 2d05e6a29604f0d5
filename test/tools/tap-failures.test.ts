import { readFileSync } from 'node:fs';
import t from 'tap';
import { TapFailures } from './tap-failures.js';

// What tap printed for a file with two failing tests (one nested) and one passing.
const output = readFileSync(new URL('./tap-failed.fixture.txt', import.meta.url), 'utf8');

t.test('each failed test is named with its file and subtests, with its diagnostic, once', async (t) => {
  const failures = new TapFailures();
  // In pieces that cut lines in two, as a pipe delivers them.
  for (let at = 0; at < output.length; at += 97) failures.read(output.slice(at, at + 97));
  const report = failures.report();
  const named = report.split('\n').filter((line) => line.startsWith('not ok: '));
  t.same(named, [
    'not ok: test/zz-tmp.test.ts > outer > inner bad > one is two',
    'not ok: test/zz-tmp.test.ts > other > should match pattern',
  ], 'the failed assertions, not the tests and files that contain them');
  t.match(report, /^# Failed tests \(2\):/m);
  t.match(report, /one is two\n---\ncompare: ===\n/, 'with the diagnostic under it');
  t.match(report, /-  "a": 2,\n *\+  "a": 1,/, 'the diff of the second');
});

t.test('a run with no failure reports nothing', async (t) => {
  const failures = new TapFailures();
  failures.read('TAP version 14\n# Subtest: a\n    ok 1 - fine\n    1..1\nok 1 - a\n');
  t.equal(failures.report(), '');
});
