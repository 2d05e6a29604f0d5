import type { PrismaClient } from '../../db/client.js';

export type PlanRow = Awaited<ReturnType<PrismaClient['plan']['findUniqueOrThrow']>>;

export interface PlanView {
  id: string;
  name: string;
  description: string | null;
  credits: number;
  unitAmount: number;
  currency: string;
  interval: 'month' | 'year';
  rollover: boolean;
  active: boolean;
  stripeProductId: string | null;
  stripePriceId: string;
  createdAt: string;
  updatedAt: string;
}

export function planView(row: PlanRow): PlanView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    credits: Number(row.credits),
    unitAmount: row.unitAmount,
    currency: row.currency,
    interval: row.interval,
    rollover: row.rollover,
    active: row.active,
    stripeProductId: row.stripeProductId,
    stripePriceId: row.stripePriceId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
