import type { PrismaClient } from '../../db/client.js';
import { pricedItemView, type PricedItemView } from '../catalog/priced-item-view.js';

export type PlanRow = Awaited<ReturnType<PrismaClient['plan']['findUniqueOrThrow']>>;

export interface PlanView extends PricedItemView {
  interval: 'month' | 'year';
  rollover: boolean;
}

export function planView(row: PlanRow): PlanView {
  return { ...pricedItemView(row), interval: row.interval, rollover: row.rollover };
}
