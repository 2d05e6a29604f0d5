import type { PrismaClient } from '../../db/client.js';
import type { Ledger } from '../ledger/ledger.js';

export interface PeriodTopUp {
  accountId: string;
  stripeSubscriptionId: string;
  /** The invoice that paid for it; null for an upgrade seen on the subscription itself. */
  stripeInvoiceId: string | null;
  planId: string;
  /** Unix seconds; the period is named by its end. */
  start: number;
  end: number;
  /** The credits the period should have in total once this is done. */
  target: number;
  /**
   * The level below which another invoice paid for the period (an upgrade's proration pays from the
   * old plan's level up): tranches below it are granted, when missing, for no invoice, and left to
   * the invoice that paid for them. 0 unless told.
   */
  base?: number;
  rollover: boolean;
}

export interface TopUpResult {
  /** Credits granted by this call (0 when the period already had its target). */
  granted: number;
  /** Credits the period has in total. */
  level: number;
  /** The grant this call made, or else the period's first. */
  grantId: string | null;
}

const MAX_TRANCHES = 50;

/**
 * Brings a subscription period's credits up to `target`, exactly once whoever asks and in whatever
 * order. A period's grants form a chain of tranches keyed by the level they start from
 * (`...:from:0`, `...:from:<level>`), and the ledger makes at most one grant per key. Walking the chain
 * from 0 finds what is there; the first free key gets the difference. Two callers racing for the same
 * key make one grant; the loser reads it and walks on, so the period ends at the highest target asked
 * for, never at a sum of them. `checkout.session.completed` and `invoice.paid` for the first invoice
 * both ask for the plan's credits from level 0: one grant.
 *
 * Each tranche is recorded with the invoice that paid for it, which refunds and disputes take back
 * from. An upgrade seen on the subscription before its proration invoice is granted for no invoice;
 * that invoice, walking the chain from its `base`, then claims the tranches above it that no invoice
 * paid for, and a period's own invoice claims a base tranche its proration granted first. Every
 * caller at a key asks for the same amount (up to the base, else up to its target), so which one
 * wins does not change the chain.
 */
export async function topUpPeriod(ledger: Ledger, prisma: PrismaClient, request: PeriodTopUp): Promise<TopUpResult> {
  const base = request.base ?? 0;
  const target = await targetOnceHandled(prisma, request);
  let level = 0;
  let granted = 0;
  let grantId: string | null = null;
  for (let step = 0; step < MAX_TRANCHES && level < target; step++) {
    const sourceKey = `subscription:${request.stripeSubscriptionId}:period:${request.end}:from:${level}`;
    const paidByAnother = level < base;
    const stripeInvoiceId = paidByAnother ? null : request.stripeInvoiceId;
    const { value } = await ledger.grant({
      accountId: request.accountId,
      amount: (paidByAnother ? Math.min(base, target) : target) - level,
      source: `subscription:${request.stripeSubscriptionId}`,
      sourceKey,
      // Without rollover, what is left of a period's credits is written off when the period ends.
      expiresAt: request.rollover ? null : new Date(request.end * 1000),
      reason: level === 0 ? `Subscription period ending ${new Date(request.end * 1000).toISOString()}` : `Plan upgrade: credits for the rest of the period ending ${new Date(request.end * 1000).toISOString()}`,
      metadata: { stripeSubscriptionId: request.stripeSubscriptionId, stripeInvoiceId, planId: request.planId, periodStart: request.start, periodEnd: request.end },
    });
    const record = prisma.subscriptionGrant.createMany({
      data: [{
        sourceKey,
        stripeSubscriptionId: request.stripeSubscriptionId,
        accountId: request.accountId,
        planId: request.planId,
        stripeInvoiceId,
        periodStart: new Date(request.start * 1000),
        periodEnd: new Date(request.end * 1000),
        fromLevel: BigInt(level),
        credits: BigInt(value.grant.amount),
        grantId: value.grant.id,
      }],
      skipDuplicates: true,
    });
    // A tranche granted first for no invoice is this invoice's: claimed once, never taken from another.
    const claim = stripeInvoiceId ? [prisma.subscriptionGrant.updateMany({ where: { sourceKey, stripeInvoiceId: null }, data: { stripeInvoiceId } })] : [];
    await prisma.$transaction([record, ...claim]);
    if (value.created) {
      granted += value.grant.amount;
      grantId = value.grant.id;
    } else if (level === 0) {
      grantId ??= value.grant.id;
    }
    level += value.grant.amount;
  }
  return { granted, level, grantId };
}

/**
 * The target of an invoice handled again (`checkout.session.completed` after its `invoice.paid`, a
 * redelivery under a new event id, a sync): never above the level its own tranches brought the
 * period to the first time. Its target is read from its plan's credits as they are now, and a raise
 * of them (PATCH) reaches the next renewal, which pays for it, not a period already paid.
 */
async function targetOnceHandled(prisma: PrismaClient, request: PeriodTopUp): Promise<number> {
  if (!request.stripeInvoiceId) return request.target;
  const own = await prisma.subscriptionGrant.findMany({
    where: { stripeSubscriptionId: request.stripeSubscriptionId, periodEnd: new Date(request.end * 1000), stripeInvoiceId: request.stripeInvoiceId },
    select: { fromLevel: true, credits: true },
  });
  if (own.length === 0) return request.target;
  return Math.min(request.target, Math.max(...own.map((tranche) => Number(tranche.fromLevel + tranche.credits))));
}

/** Credits a period has been granted so far, as recorded beside the ledger. */
export async function periodLevel(prisma: PrismaClient, stripeSubscriptionId: string, end: Date): Promise<number> {
  const sum = await prisma.subscriptionGrant.aggregate({ where: { stripeSubscriptionId, periodEnd: end }, _sum: { credits: true } });
  return Number(sum._sum.credits ?? 0);
}

/** The plan a period's latest tranche was granted for (the plan it was last raised to); undefined before it has credits. */
export async function periodPlanId(prisma: PrismaClient, stripeSubscriptionId: string, end: Date): Promise<string | undefined> {
  const latest = await prisma.subscriptionGrant.findFirst({ where: { stripeSubscriptionId, periodEnd: end }, orderBy: { fromLevel: 'desc' }, select: { planId: true } });
  return latest?.planId ?? undefined;
}

/** The end (unix seconds) of the latest period of the subscription that has credits; undefined when none has. */
export async function lastGrantedPeriodEnd(prisma: PrismaClient, stripeSubscriptionId: string): Promise<number | undefined> {
  const latest = await prisma.subscriptionGrant.aggregate({ where: { stripeSubscriptionId }, _max: { periodEnd: true } });
  return latest._max.periodEnd ? latest._max.periodEnd.getTime() / 1000 : undefined;
}
