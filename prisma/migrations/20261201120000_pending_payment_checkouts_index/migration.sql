-- The checkout reconciler also asks Stripe about checkouts complete with their payment still pending
-- (an asynchronous payment method), least recently checked first: a partial index of those by
-- updated_at, which a fulfilled checkout leaves.
CREATE INDEX "checkouts_payment_pending_idx" ON "checkouts" ("updated_at", "id") WHERE "status" = 'complete' AND "fulfilled_at" IS NULL AND "payment_status" = 'unpaid';
