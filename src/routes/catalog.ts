import { z } from 'zod';
import { chargeStepsDescribed, currency, shownName, stripePriceId, timestamp } from './schemas.js';

/**
 * What packs and plans share: each is something Tally sells at a Stripe price (a one-time price for a
 * pack, a recurring one for a plan) and that grants credits when paid. Their routes add their own fields.
 */

const minorUnits = z.number().int('must be an integer (minor units)').positive().max(99_999_999).describe(`Money in the currency's minor units (cents); ${chargeStepsDescribed}`);

/** The fields of a pack's or a plan's view. */
export const offerView = {
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  credits: z.number().int(),
  unitAmount: z.number().int(),
  currency: z.string(),
  active: z.boolean(),
  stripeProductId: z.string().nullable(),
  stripePriceId: z.string(),
  createdAt: timestamp,
  updatedAt: timestamp,
};

/** The fields a create takes (`credits` is the offer's own: it says what the credits are). */
export const newOffer = (credits: z.ZodNumber) => ({
  name: shownName(200),
  credits,
  unitAmount: minorUnits.optional(),
  currency: currency.optional(),
  description: z.string().max(1000).optional(),
  active: z.boolean().optional(),
});

/** The fields a change takes: a create's, each optional, and a description may be cleared. */
export const offerChanges = (credits: z.ZodNumber) => ({
  ...z.object(newOffer(credits)).partial().shape,
  description: z.string().max(1000).nullable().optional(),
  stripePriceId: stripePriceId.optional(),
});

/**
 * A Stripe price says its own amount, currency (and, recurring, interval): given with any of them, one
 * of the two would be dropped in silence (a $5 pack sold at the price's 50 EUR). So it comes alone.
 */
export function priceNamedOnce(priceFields: readonly string[]) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (body.stripePriceId === undefined) return;
    const given = priceFields.filter((field) => body[field] !== undefined);
    if (given.length === 0) return;
    ctx.addIssue({ code: 'custom', path: ['stripePriceId'], message: `cannot be given with ${given.join(', ')}: the Stripe price sets those; send one or the other` });
  };
}
