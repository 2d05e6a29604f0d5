import { NotFoundFailure, ValidationFailure } from '../../errors.js';
import type { PrismaClient } from '../../db/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { CustomerDetails } from '../customers/send-customer-details.js';
import type { NewEntry } from '../ledger/types.js';

export interface AccountInput {
  email?: string | null;
  name?: string | null;
  metadata?: Record<string, unknown>;
}

export interface AccountView {
  id: string;
  email: string | null;
  name: string | null;
  metadata: Record<string, unknown>;
  stripeCustomerId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A ledger entry as the API shows it: the row as written, with its id and time. */
export type LedgerEntryView = NewEntry & { id: string; createdAt: string };

/** Gives the account's Stripe customer the account's email and name, if they changed, without being waited for; billing sets it. */
export type CustomerDetailsSender = (account: CustomerDetails) => void;

export class Accounts {
  private sendCustomerDetails?: CustomerDetailsSender;

  constructor(private readonly prisma: PrismaClient) {}

  /** Where an account's new email or name goes once saved (the billing plugin, which talks to Stripe). */
  sendCustomerDetailsWith(send: CustomerDetailsSender): void {
    this.sendCustomerDetails = send;
  }

  /**
   * Creates the account, or updates the fields given, in one transaction. Returns whether it was
   * created. A new email or name then goes to its Stripe customer, without the PUT waiting for it; if
   * Stripe cannot take it, the account's next checkout or portal session sends it.
   */
  async upsert(id: string, input: AccountInput): Promise<{ account: AccountView; created: boolean }> {
    const data = {
      ...(input.email !== undefined ? { email: input.email } : {}),
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata as Prisma.InputJsonObject } : {}),
    };
    // One transaction: an account is never left created without the fields its request gave.
    const { account, created } = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ inserted: boolean }>>`
        INSERT INTO accounts (id, updated_at) VALUES (${id}, now()) ON CONFLICT (id) DO NOTHING RETURNING true AS inserted`;
      const account = Object.keys(data).length ? await tx.account.update({ where: { id }, data }) : await tx.account.findUniqueOrThrow({ where: { id } });
      return { account, created: rows.length > 0 };
    });
    const changed = account.email !== account.stripeCustomerEmail || account.name !== account.stripeCustomerName;
    if (account.stripeCustomerId && changed) this.sendCustomerDetails?.(account);
    return { account: accountView(account), created };
  }

  async get(id: string): Promise<AccountView> {
    const account = await this.prisma.account.findUnique({ where: { id } });
    if (!account) throw new NotFoundFailure('account', id);
    return accountView(account);
  }

  /** Newest first; `cursor` is the id of the last entry of the previous page. */
  async ledger(id: string, limit: number, cursor?: string): Promise<{ entries: LedgerEntryView[]; nextCursor: string | null }> {
    await this.get(id);
    // An unknown cursor (another account's entry, or none) would otherwise read as the end of the ledger, or skip entries.
    if (cursor && !(await this.prisma.ledgerEntry.findFirst({ where: { id: BigInt(cursor), accountId: id }, select: { id: true } }))) {
      throw new ValidationFailure('invalid_request', 'cursor must be a cursor returned by a previous page of this account', { field: 'querystring.cursor' });
    }
    const rows = await this.prisma.ledgerEntry.findMany({
      where: { accountId: id, ...(cursor ? { id: { lt: BigInt(cursor) } } : {}) },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    const page = rows.slice(0, limit);
    return {
      entries: page.map((row) => ({
        id: String(row.id),
        accountId: row.accountId,
        kind: row.kind,
        amount: Number(row.amount),
        heldChange: Number(row.heldChange),
        availableAfter: Number(row.availableAfter),
        heldAfter: Number(row.heldAfter),
        grantId: row.grantId,
        holdId: row.holdId,
        // JSON columns, written only from the entry's own fields (NewEntry).
        allocations: row.allocations as NewEntry['allocations'],
        reason: row.reason,
        metadata: row.metadata as NewEntry['metadata'],
        createdAt: row.createdAt.toISOString(),
      })),
      nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null,
    };
  }
}

export function accountView(row: { id: string; email: string | null; name: string | null; metadata: unknown; stripeCustomerId: string | null; createdAt: Date; updatedAt: Date }): AccountView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    stripeCustomerId: row.stripeCustomerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
