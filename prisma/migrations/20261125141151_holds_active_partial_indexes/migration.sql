-- A capture or release changes a hold's status. Every index that named status got a new entry for
-- the changed row (and one more for each new hold), although only active holds are ever looked up:
-- by account (holds_active_idx, already partial) and by expiry (the sweeper). Both are now partial
-- indexes on active holds, which a settled hold's new row version does not enter.
DROP INDEX "holds_account_id_status_idx";
DROP INDEX "holds_status_expires_at_idx";
CREATE INDEX "holds_active_expiry_idx" ON "holds" ("expires_at") WHERE "status" = 'active';
