import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import { ConflictFailure, NotFoundFailure, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { checkChargeStep, checkCurrency } from '../../stripe/charge-rules.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import { catalogItemChanges, catalogItemId, checkPriceFree, deactivateReplacedPrice, priceInUse, priceOnProduct, updateManagedProduct, withItemPrice, type CatalogItemInput } from '../catalog/catalog-item.js';
import { adoptPlanPrice, createPlanPrice, createPlanProductAndPrice, type PlanInterval, type StripePlanPrice } from './plan-prices.js';
import { planView, type PlanRow, type PlanView } from './plan-view.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';

export interface PlanInput extends CatalogItemInput {
  unitAmount?: number;
  currency?: string;
  interval?: PlanInterval;
  rollover?: boolean;
  stripePriceId?: string;
}

/**
 * Subscription plans and their Stripe Product and recurring Price. A new amount, currency or interval
 * is a new Price; subscribers keep the one they have until they change plan, so every price a plan
 * ever had stays in plan_prices and still leads to the plan.
 */
export class Plans {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly instance: TallyInstance,
    private readonly logger: Logger,
  ) {}

  /** `requestKey` (the client's Idempotency-Key) and the request fix the plan id, and with it Stripe's idempotency keys. */
  async create(input: PlanInput, requestKey?: string): Promise<PlanView> {
    const id = catalogItemId('plan', requestKey, input);
    const existing = await this.prisma.plan.findUnique({ where: { id } });
    if (existing) return planView(existing);
    if (input.stripePriceId) checkPriceFree('plan', input.stripePriceId, id, await this.ownerOf(input.stripePriceId));
    const price = input.stripePriceId ? await adoptPlanPrice(this.stripe, input.stripePriceId) : await createPlanProductAndPrice(this.stripe, this.instance, id, { ...input, ...requiredTerms(input) });
    const row = await this.prisma
      .$transaction(async (tx) => {
        const plan = await tx.plan.create({
          data: {
            id,
            name: input.name,
            description: input.description ?? null,
            credits: BigInt(input.credits),
            unitAmount: price.unitAmount,
            currency: price.currency,
            interval: price.interval,
            rollover: input.rollover ?? false,
            active: input.active ?? true,
            stripeProductId: price.productId,
            stripePriceId: price.priceId,
            managedPrice: !input.stripePriceId,
          },
        });
        await tx.planPrice.create({ data: { stripePriceId: price.priceId, planId: id, unitAmount: price.unitAmount, currency: price.currency } });
        return plan;
      })
      .catch((error) => {
        // The same create retried concurrently: the other one stored it first.
        if (isUniqueViolation(error)) return null;
        throw error;
      });
    if (!row) {
      const stored = await this.prisma.plan.findUnique({ where: { id } });
      if (!stored) throw priceInUse('plan', price.priceId);
      return planView(stored);
    }
    return planView(row);
  }

  async list(activeOnly: boolean): Promise<PlanView[]> {
    const rows = await this.prisma.plan.findMany({ where: activeOnly ? { active: true } : {}, orderBy: { createdAt: 'asc' } });
    return rows.map(planView);
  }

  async get(id: string): Promise<PlanView> {
    return planView(await this.row(id));
  }

  async row(id: string): Promise<PlanRow> {
    const row = await this.prisma.plan.findUnique({ where: { id } });
    if (!row) throw new NotFoundFailure('plan', id);
    return row;
  }

  /** The id of the plan that sells or sold a Stripe price. */
  private async ownerOf(stripePriceId: string): Promise<string | undefined> {
    return (await this.prisma.planPrice.findUnique({ where: { stripePriceId } }))?.planId;
  }

  /** The plan a Stripe price belongs to, current or earlier; undefined when it is none of Tally's. */
  async forPrice(stripePriceId: string): Promise<PlanRow | undefined> {
    const price = await this.prisma.planPrice.findUnique({ where: { stripePriceId }, include: { plan: true } });
    return price?.plan;
  }

  /** The amount and currency of a Stripe price a plan sells or sold; undefined when it is none of Tally's. */
  async price(stripePriceId: string): Promise<{ unitAmount: number; currency: string } | undefined> {
    return (await this.prisma.planPrice.findUnique({ where: { stripePriceId } })) ?? undefined;
  }

  /** Runs `use` (a checkout, a change of plan) with the plan's row; a price of Tally's that Stripe does not know is made again (`withItemPrice`). */
  async withPrice<T>(row: PlanRow, use: (row: PlanRow) => Promise<T>): Promise<T> {
    return withItemPrice('plan', row, (stale) => this.remakePrice(stale), use);
  }

  async update(id: string, input: Partial<PlanInput>): Promise<PlanView> {
    const row = await this.row(id);
    const terms = { unitAmount: input.unitAmount ?? row.unitAmount, currency: input.currency ?? row.currency, interval: input.interval ?? row.interval };
    const termsChange = terms.unitAmount !== row.unitAmount || terms.currency !== row.currency || terms.interval !== row.interval;
    let price: StripePlanPrice | undefined;
    if (termsChange) {
      if (!row.managedPrice || !row.stripeProductId) throw new ConflictFailure('price_managed_elsewhere', 'This plan uses a Stripe price managed in the Dashboard; set a new stripePriceId instead');
      checkCurrency(terms.currency);
      checkChargeStep(terms.unitAmount, terms.currency, 'unitAmount');
      price = await priceOnProduct(
        row.stripeProductId,
        (productId) => createPlanPrice(this.stripe, this.instance, id, productId, terms, { replacing: row.stripePriceId }),
        () => createPlanProductAndPrice(this.stripe, this.instance, id, { ...row, ...input, ...terms }, row.stripePriceId),
      );
    } else if (input.stripePriceId && input.stripePriceId !== row.stripePriceId) {
      checkPriceFree('plan', input.stripePriceId, id, await this.ownerOf(input.stripePriceId));
      price = await adoptPlanPrice(this.stripe, input.stripePriceId);
    }
    // An adopted price is the Dashboard's: a later change of terms is made there, not by Tally.
    const adopted = price !== undefined && !termsChange;
    await updateManagedProduct(this.stripe, row, input);
    const updated = await this.prisma
      .$transaction(async (tx) => {
        if (price) await keepPlanPrice(tx, id, price);
        return tx.plan.update({
          where: { id },
          data: {
            ...catalogItemChanges(input),
            ...(input.rollover !== undefined ? { rollover: input.rollover } : {}),
            ...(price ? { stripeProductId: price.productId, stripePriceId: price.priceId, unitAmount: price.unitAmount, currency: price.currency, interval: price.interval } : {}),
            ...(adopted ? { managedPrice: false } : {}),
          },
        });
      })
      .catch((error) => {
        // Another plan adopted the same price meanwhile.
        if (price && isUniqueViolation(error)) throw priceInUse('plan', price.priceId);
        throw error;
      });
    if (termsChange) await deactivateReplacedPrice(this.stripe, row.stripePriceId, this.logger);
    return planView(updated);
  }

  /**
   * A new product and price for a plan whose price Stripe does not know, stored unless another
   * request stored one first (then that one is the plan's). The old price stays in plan_prices, so
   * its subscriptions, if any, still lead to the plan.
   */
  private async remakePrice(stale: PlanRow): Promise<PlanRow> {
    const price = await createPlanProductAndPrice(this.stripe, this.instance, stale.id, { ...stale, interval: stale.interval as PlanInterval }, stale.stripePriceId);
    await this.prisma.$transaction(async (tx) => {
      await keepPlanPrice(tx, stale.id, price);
      await tx.plan.updateMany({ where: { id: stale.id, stripePriceId: stale.stripePriceId }, data: { stripeProductId: price.productId, stripePriceId: price.priceId } });
    });
    return this.row(stale.id);
  }
}

/** Keeps a price the plan has sold, so that it leads to the plan for good (its subscriptions, a checkout by it); one another plan sells is a 409. */
async function keepPlanPrice(tx: Pick<PrismaClient, 'planPrice'>, planId: string, price: StripePlanPrice): Promise<void> {
  const kept = await tx.planPrice.upsert({
    where: { stripePriceId: price.priceId },
    create: { stripePriceId: price.priceId, planId, unitAmount: price.unitAmount, currency: price.currency },
    update: {},
  });
  checkPriceFree('plan', price.priceId, planId, kept.planId);
}

function requiredTerms(input: PlanInput) {
  if (input.unitAmount === undefined || input.currency === undefined || input.interval === undefined) {
    throw new ValidationFailure('invalid_request', 'unitAmount, currency and interval are required unless stripePriceId is given', { fields: ['unitAmount', 'currency', 'interval'] });
  }
  checkCurrency(input.currency);
  checkChargeStep(input.unitAmount, input.currency, 'unitAmount');
  return { unitAmount: input.unitAmount, currency: input.currency, interval: input.interval };
}
