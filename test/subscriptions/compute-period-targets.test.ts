import t from 'tap';
import { computePeriodTargets, type CreditLine } from '../../src/domain/subscriptions/compute-period-targets.js';

const plans = new Map([
  ['price_basic', { id: 'plan_basic', credits: 1000, rollover: false }],
  ['price_pro', { id: 'plan_pro', credits: 5000, rollover: true }],
]);
const planFor = (price: string) => plans.get(price);
const line = (priceId: string | null, start: number, end: number, amount = 1000, quantity = 1): CreditLine => ({ priceId, period: { start, end }, amount, quantity });

t.test('a renewal pays for its period at the plan level', async (t) => {
  t.same(computePeriodTargets([line('price_basic', 100, 200)], planFor), [{ start: 100, end: 200, credits: 1000, base: 0, planId: 'plan_basic', rollover: false }]);
});

t.test("an upgrade's proration line names the current period by its end, at the new plan's level, from the old plan's", async (t) => {
  const lines = [line('price_basic', 150, 200, -500), line('price_pro', 150, 200, 1500)];
  t.same(computePeriodTargets(lines, planFor), [{ start: 150, end: 200, credits: 5000, base: 1000, planId: 'plan_pro', rollover: true }]);
});

t.test('a credit line of another period (a new interval restarts the period) is no base of the new one', async (t) => {
  const lines = [line('price_basic', 150, 200, -500), line('price_pro', 150, 500, 9000)];
  t.same(computePeriodTargets(lines, planFor).map((target) => [target.end, target.credits, target.base]), [[500, 5000, 0]]);
});

t.test('credit lines, unknown prices and price-less lines pay for nothing; quantities multiply', async (t) => {
  t.same(computePeriodTargets([line('price_other', 100, 200), line(null, 100, 200), line('price_basic', 100, 200, -10)], planFor), []);
  t.same(computePeriodTargets([line('price_basic', 100, 200, 2000, 3)], planFor)[0]!.credits, 3000);
});

t.test('an invoice covering two periods gives one target each, in period order', async (t) => {
  const targets = computePeriodTargets([line('price_pro', 200, 300), line('price_basic', 100, 200)], planFor);
  t.same(targets.map((target) => [target.end, target.credits]), [[200, 1000], [300, 5000]]);
});

t.test('a free plan (amount 0) still pays for its credits', async (t) => {
  t.equal(computePeriodTargets([line('price_basic', 100, 200, 0)], planFor)[0]!.credits, 1000);
});

t.test('lines paying for one period together: their credits add up, and the period starts at the earliest start', async (t) => {
  const lines = [line('price_basic', 100, 200), line('price_pro', 150, 200, 1500)];
  t.same(computePeriodTargets(lines, planFor), [{ start: 100, end: 200, credits: 6000, base: 0, planId: 'plan_basic', rollover: false }]);
});
