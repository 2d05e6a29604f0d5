-- What a grant owes refunds and disputes that came while its credits were held, oldest first:
-- [{ "revocationKey", "owed", "collected" }]. Taken as held credits come back to the grant, in the
-- same batch (src/domain/ledger/account-book.ts, collect); given back with the rest when the
-- revocation is restored. A constant default: no rewrite of the table. No index: a spend's HOT update
-- of `remaining` stays HOT.
-- AlterTable
ALTER TABLE "grants" ADD COLUMN     "debts" JSONB NOT NULL DEFAULT '[]';
