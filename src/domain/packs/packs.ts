import type { FastifyBaseLogger as Logger } from 'fastify';
import type Stripe from 'stripe';
import { ConflictFailure, NotFoundFailure, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { callStripe } from '../../stripe/call-stripe.js';
import { checkChargeAmount } from '../../stripe/charge-rules.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import type { TallyInstance } from '../../stripe/tally-instance.js';
import {
  catalogItemChanges,
  catalogItemId,
  checkPriceFree,
  deactivateReplacedPrice,
  priceInUse,
  priceOnProduct,
  productIdOf,
  remadeKeySuffix,
  retrieveStripePrice,
  updateManagedProduct,
  withItemPrice,
  type CatalogItemInput,
} from '../catalog/catalog-item.js';
import { pricedItemView, type PricedItemView } from '../catalog/priced-item-view.js';

export interface PackInput extends CatalogItemInput {
  unitAmount?: number;
  currency?: string;
  stripePriceId?: string;
}

export type PackView = PricedItemView;

type PackRow = Awaited<ReturnType<PrismaClient['pack']['findUniqueOrThrow']>>;

/** Credit packs and their Stripe Product and Price. Stripe prices are immutable: a new amount is a new Price. */
export class Packs {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly stripe: Stripe,
    private readonly instance: TallyInstance,
    private readonly logger: Logger,
  ) {}

  /**
   * `requestKey` (the client's Idempotency-Key) and the request fix the pack id, which fixes Stripe's
   * idempotency keys: a retried create reuses the Product and Price it made the first time.
   */
  async create(input: PackInput, requestKey?: string): Promise<PackView> {
    const id = catalogItemId('pack', requestKey, input);
    const existing = await this.prisma.pack.findUnique({ where: { id } });
    if (existing) return packView(existing);
    const stripeIds = input.stripePriceId ? await this.adoptPrice(input.stripePriceId, id) : await this.createProductAndPrice(id, input);
    const row = await this.prisma.pack
      .create({
      data: {
        id,
        name: input.name,
        description: input.description ?? null,
        credits: BigInt(input.credits),
        unitAmount: stripeIds.unitAmount,
        currency: stripeIds.currency,
        active: input.active ?? true,
        stripeProductId: stripeIds.productId,
        stripePriceId: stripeIds.priceId,
        managedPrice: !input.stripePriceId,
      },
      })
      .catch(async (error) => {
        // The same create retried concurrently: the other one stored it first (or another pack adopted the price).
        if (isUniqueViolation(error)) return null;
        throw error;
      });
    if (!row) {
      const stored = await this.prisma.pack.findUnique({ where: { id } });
      if (!stored) throw priceInUse('pack', stripeIds.priceId);
      return packView(stored);
    }
    return packView(row);
  }

  async list(activeOnly: boolean): Promise<PackView[]> {
    const rows = await this.prisma.pack.findMany({ where: activeOnly ? { active: true } : {}, orderBy: { createdAt: 'asc' } });
    return rows.map(packView);
  }

  async get(id: string): Promise<PackView> {
    return packView(await this.row(id));
  }

  async row(id: string): Promise<PackRow> {
    const row = await this.prisma.pack.findUnique({ where: { id } });
    if (!row) throw new NotFoundFailure('pack', id);
    return row;
  }

  /** Runs `use` (a checkout) with the pack's row; a price of Tally's that Stripe does not know is made again (`withItemPrice`). */
  async withPrice<T>(row: PackRow, use: (row: PackRow) => Promise<T>): Promise<T> {
    return withItemPrice('pack', row, (stale) => this.remakePrice(stale), use);
  }

  async update(id: string, input: Partial<PackInput>): Promise<PackView> {
    const row = await this.row(id);
    const priceChanges = (input.unitAmount !== undefined && input.unitAmount !== row.unitAmount) || (input.currency !== undefined && input.currency !== row.currency);
    let price = { productId: row.stripeProductId, priceId: row.stripePriceId, unitAmount: row.unitAmount, currency: row.currency };
    let managedPrice = row.managedPrice;
    if (priceChanges) {
      if (!row.managedPrice) throw new ConflictFailure('price_managed_elsewhere', 'This pack uses a Stripe price managed in the Dashboard; set a new stripePriceId instead');
      const unitAmount = input.unitAmount ?? row.unitAmount;
      const currency = input.currency ?? row.currency;
      checkChargeAmount(unitAmount, currency, 'unitAmount');
      price = await priceOnProduct(
        row.stripeProductId!,
        async (productId) => {
          // The key names the price it replaces: a change back to an earlier amount makes a new price
          // rather than being handed the earlier one, which the change away from it deactivated.
          const created = await callStripe('create the new price', () =>
            this.instance.keyed(`pack-${id}-price-${currency}-${unitAmount}-replacing-${row.stripePriceId}`, undefined, (idempotencyKey) =>
              this.stripe.prices.create({ product: productId, unit_amount: unitAmount, currency, metadata: { tally_pack_id: id } }, { idempotencyKey }),
            ),
          );
          return { productId, priceId: created.id, unitAmount, currency };
        },
        () => this.createProductAndPrice(id, { ...row, credits: Number(row.credits), ...input, unitAmount, currency }, row.stripePriceId),
      );
    } else if (input.stripePriceId && input.stripePriceId !== row.stripePriceId) {
      price = await this.adoptPrice(input.stripePriceId, id);
      // The price is the Dashboard's now: a later change of amount is made there, not by Tally.
      managedPrice = false;
    }
    await updateManagedProduct(this.stripe, row, input);
    const updated = await this.prisma.pack
      .update({
        where: { id },
        data: {
          ...catalogItemChanges(input),
          stripeProductId: price.productId,
          stripePriceId: price.priceId,
          managedPrice,
          unitAmount: price.unitAmount,
          currency: price.currency,
        },
      })
      .catch((error) => {
        // Another pack adopted the same price meanwhile.
        if (isUniqueViolation(error)) throw priceInUse('pack', price.priceId);
        throw error;
      });
    if (priceChanges) await deactivateReplacedPrice(this.stripe, row.stripePriceId, this.logger);
    return packView(updated);
  }

  /**
   * A new product and price for a pack whose price Stripe does not know, stored unless another
   * request stored one first (then that one is the pack's).
   */
  private async remakePrice(stale: PackRow): Promise<PackRow> {
    const made = await this.createProductAndPrice(stale.id, { ...stale, credits: Number(stale.credits) }, stale.stripePriceId);
    await this.prisma.pack.updateMany({ where: { id: stale.id, stripePriceId: stale.stripePriceId }, data: { stripeProductId: made.productId, stripePriceId: made.priceId } });
    return this.row(stale.id);
  }

  /** The pack's own product and price; `remadeFrom`, the price Stripe does not know that they replace. */
  private async createProductAndPrice(id: string, input: PackInput, remadeFrom?: string) {
    if (input.unitAmount === undefined || input.currency === undefined) {
      throw new ValidationFailure('invalid_request', 'unitAmount and currency are required unless stripePriceId is given', { fields: ['unitAmount', 'currency'] });
    }
    // A pack below Stripe's minimum charge could never be sold: every checkout of it would be refused.
    checkChargeAmount(input.unitAmount, input.currency, 'unitAmount');
    const productParams = { name: input.name, ...(input.description ? { description: input.description } : {}), metadata: { tally_pack_id: id } };
    const product = await callStripe('create the product', () =>
      this.instance.keyed(`pack-${id}-product${remadeKeySuffix(remadeFrom)}`, productParams, (idempotencyKey) => this.stripe.products.create(productParams, { idempotencyKey })),
    );
    const priceParams = { product: product.id, unit_amount: input.unitAmount!, currency: input.currency!, metadata: { tally_pack_id: id } };
    const price = await callStripe('create the price', () =>
      this.instance.keyed(`pack-${id}-price-${input.currency}-${input.unitAmount}${remadeKeySuffix(remadeFrom)}`, priceParams, (idempotencyKey) => this.stripe.prices.create(priceParams, { idempotencyKey })),
    );
    return { productId: product.id, priceId: price.id, unitAmount: input.unitAmount, currency: input.currency };
  }

  /** A price of the Dashboard's for pack `packId`: one another pack sells is a 409, before Stripe is asked. */
  private async adoptPrice(priceId: string, packId: string) {
    checkPriceFree('pack', priceId, packId, (await this.prisma.pack.findUnique({ where: { stripePriceId: priceId } }))?.id);
    const price = await retrieveStripePrice(this.stripe, priceId);
    if (price.recurring) throw new ValidationFailure('invalid_request', 'A pack needs a one-time price; this one is recurring', { field: 'stripePriceId' });
    return { productId: productIdOf(price), priceId: price.id, unitAmount: price.unit_amount, currency: price.currency };
  }
}

export const packView: (row: PackRow) => PackView = pricedItemView;
