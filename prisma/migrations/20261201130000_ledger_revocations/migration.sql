-- Credits taken back for a refunded or disputed payment are an `adjustment` entry carrying the
-- revocation's key in its metadata (`refund:<Stripe refund id>:<grant id>`, and so on). This
-- index keeps each key to one entry for good (idempotency records are purged after a while), and is
-- how a batch finds the revocations already written. Other entries do not enter it.
CREATE UNIQUE INDEX "ledger_entries_revocation_key" ON "ledger_entries" (("metadata"->>'revocationKey')) WHERE "kind" = 'adjustment';
