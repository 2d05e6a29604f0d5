import t from 'tap';
import { newId } from '../../src/lib/ids.js';

t.test('ids are prefixed, 20 base62 characters, and do not repeat across refills of the random pool', async (t) => {
  const ids = Array.from({ length: 5000 }, () => newId('hold'));
  for (const id of ids.slice(0, 50)) t.match(id, /^hold_[0-9a-zA-Z]{20}$/);
  t.equal(new Set(ids).size, ids.length);
  // Every character of the alphabet turns up: the bytes are not reused or left at zero.
  t.equal(new Set(ids.join('').replace(/hold_/g, '')).size, 62);
});
