import t from 'tap';
import { checkoutExpiresAt } from '../../src/domain/bills/checkout-lifetime.js';

t.test('a checkout lives 30 minutes to 24 hours, kept a minute inside both limits', async (t) => {
  t.equal(checkoutExpiresAt(1000, 1800), 1000 + 1860);
  t.equal(checkoutExpiresAt(1000, 7200), 1000 + 7200);
  t.equal(checkoutExpiresAt(1000, 86_400), 1000 + 86_340);
  for (const seconds of [1799, 86_401]) {
    t.throws(() => checkoutExpiresAt(1000, seconds), { code: 'invalid_expiry', kind: 'validation' }, `${seconds} s`);
  }
});
