-- The checkout reconciler asks Stripe about checkouts still open, least recently checked (or
-- changed) first: a partial index of the open ones by updated_at, so a pass reads the few it takes
-- and not the whole history of finished checkouts.
CREATE INDEX "checkouts_open_checked_idx" ON "checkouts" ("updated_at", "id") WHERE "status" = 'open';
