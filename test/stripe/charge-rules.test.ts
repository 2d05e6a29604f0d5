import t from 'tap';
import { checkChargeAmount, checkCurrency } from '../../src/stripe/charge-rules.js';
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
  t.equal(code(() => checkChargeAmount(50, 'usd')), 'ok');
  t.equal(code(() => checkChargeAmount(49, 'usd')), 'amount_too_small');
  t.equal(code(() => checkChargeAmount(49, 'eur')), 'amount_too_small');
  t.equal(code(() => checkChargeAmount(30, 'gbp')), 'ok');
  t.equal(code(() => checkChargeAmount(29, 'gbp')), 'amount_too_small');
  t.equal(code(() => checkChargeAmount(50, 'jpy')), 'ok');
  t.equal(code(() => checkChargeAmount(100, 'isk')), 'ok', 'no documented minimum: Stripe decides');
  t.equal(code(() => checkChargeAmount(1, 'xyz')), 'invalid_currency');
  t.equal(code(() => checkChargeAmount(0, 'usd')), 'invalid_amount');
  t.equal(code(() => checkChargeAmount(100_000_000, 'usd')), 'amount_too_large');
});

t.test('ISK in whole krónur, three-decimal currencies with their last digit 0 (Stripe\'s special cases)', async (t) => {
  t.equal(code(() => checkChargeAmount(4000, 'isk')), 'ok');
  t.equal(code(() => checkChargeAmount(4010, 'isk')), 'invalid_amount', 'ISK 40.10: Stripe refuses fractional krónur');
  t.equal(code(() => checkChargeAmount(1, 'isk')), 'invalid_amount');
  for (const currency of ['bhd', 'jod', 'kwd', 'omr', 'tnd']) {
    t.equal(code(() => checkChargeAmount(1230, currency)), 'ok', `${currency} 1.230`);
    t.equal(code(() => checkChargeAmount(1234, currency)), 'invalid_amount', `${currency} 1.234`);
  }
  t.equal(code(() => checkChargeAmount(1234, 'usd')), 'ok', 'other currencies: any minor unit');
  t.equal(code(() => checkChargeAmount(51, 'jpy')), 'ok');
});

t.test('the field a failure names is the caller\'s', async (t) => {
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error instanceof TallyError ? { code: error.code, details: error.details } : error;
    }
  };
  t.match(failure(() => checkChargeAmount(1, 'usd', 'unitAmount')), { code: 'amount_too_small', details: { field: 'unitAmount', minimum: 50 } });
  t.match(failure(() => checkChargeAmount(4010, 'isk', 'unitAmount')), { code: 'invalid_amount', details: { field: 'unitAmount', multipleOf: 100 } });
  t.match(failure(() => checkCurrency('xyz')), { code: 'invalid_currency', details: { field: 'currency' } });
  t.equal(failure(() => checkCurrency('jpy')), undefined);
});
