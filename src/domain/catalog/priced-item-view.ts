/** What packs and plans share as the API shows them: a product sold at one Stripe price for some credits. */
export interface PricedItemView {
  id: string;
  name: string;
  description: string | null;
  credits: number;
  unitAmount: number;
  currency: string;
  active: boolean;
  stripeProductId: string | null;
  stripePriceId: string;
  createdAt: string;
  updatedAt: string;
}

interface PricedItemRow {
  id: string;
  name: string;
  description: string | null;
  credits: bigint;
  unitAmount: number;
  currency: string;
  active: boolean;
  stripeProductId: string | null;
  stripePriceId: string;
  createdAt: Date;
  updatedAt: Date;
}

export function pricedItemView(row: PricedItemRow): PricedItemView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    credits: Number(row.credits),
    unitAmount: row.unitAmount,
    currency: row.currency,
    active: row.active,
    stripeProductId: row.stripeProductId,
    stripePriceId: row.stripePriceId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
