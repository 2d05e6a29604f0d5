import t from 'tap';
import { checkBillAmount, checkoutExpiresAt } from '../../src/domain/bills/check-bill-amount.js';
import { TallyError } from '../../src/errors.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof TallyError ? error.code : String(error);
  }
};

t.test("Stripe's minimum charge per currency", async (t) => {
  t.equal(code(() => checkBillAmount(50, 'usd')), 'ok');
  t.equal(code(() => checkBillAmount(49, 'usd')), 'amount_too_small');
  t.equal(code(() => checkBillAmount(49, 'eur')), 'amount_too_small');
  t.equal(code(() => checkBillAmount(30, 'gbp')), 'ok');
  t.equal(code(() => checkBillAmount(29, 'gbp')), 'amount_too_small');
  t.equal(code(() => checkBillAmount(50, 'jpy')), 'ok');
  t.equal(code(() => checkBillAmount(1, 'isk')), 'ok', 'no documented minimum: Stripe decides');
  t.equal(code(() => checkBillAmount(1, 'xyz')), 'invalid_currency');
  t.equal(code(() => checkBillAmount(0, 'usd')), 'invalid_amount');
  t.equal(code(() => checkBillAmount(100_000_000, 'usd')), 'amount_too_large');
});

t.test('a checkout lives 30 minutes to 24 hours, kept a minute inside both limits', async (t) => {
  t.equal(checkoutExpiresAt(1000, 1800), 1000 + 1860);
  t.equal(checkoutExpiresAt(1000, 7200), 1000 + 7200);
  t.equal(checkoutExpiresAt(1000, 86_400), 1000 + 86_340);
  t.equal(code(() => checkoutExpiresAt(1000, 1799)), 'invalid_expiry');
  t.equal(code(() => checkoutExpiresAt(1000, 86_401)), 'invalid_expiry');
});
