import t from 'tap';
import { parseForm } from '../../src/simulator/http/parse-form.js';
import { addIntervals } from '../../src/simulator/billing/add-interval.js';

t.test('bracketed keys become nested objects; indices stay keys until the schema decides', async (t) => {
  const parsed = parseForm(
    'mode=payment&line_items[0][price_data][currency]=usd&line_items[0][quantity]=2&metadata[accountId]=a%20b&expand[]=line_items&expand[]=customer&note=a+b&empty=',
  );
  t.same(JSON.parse(JSON.stringify(parsed)), {
    mode: 'payment',
    line_items: { 0: { price_data: { currency: 'usd' }, quantity: '2' } },
    metadata: { accountId: 'a b' },
    expand: { 0: 'line_items', 1: 'customer' },
    note: 'a b',
    empty: '',
  });
  t.same(JSON.parse(JSON.stringify(parseForm('created%5Bgt%5D=5'))), { created: { gt: '5' } }, 'encoded brackets work too');
  t.equal(Object.getPrototypeOf(parseForm('__proto__[x]=1')), null, 'no prototype to pollute');
});

t.test('month intervals keep the anchor day, clamped to short months', async (t) => {
  const jan31 = Date.UTC(2027, 0, 31, 12) / 1000;
  t.equal(new Date(addIntervals(jan31, 'month', 1) * 1000).toISOString(), '2027-02-28T12:00:00.000Z');
  t.equal(new Date(addIntervals(jan31, 'month', 2) * 1000).toISOString(), '2027-03-31T12:00:00.000Z');
  t.equal(new Date(addIntervals(jan31, 'year', 1) * 1000).toISOString(), '2028-01-31T12:00:00.000Z');
  t.equal(addIntervals(jan31, 'week', 2) - jan31, 14 * 86_400);
});
