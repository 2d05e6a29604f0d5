-- GET /v1/accounts/{accountId}/holds?status=captured|released|expired lists an account's settled holds,
-- oldest first, a page at a time: a partial index of them by account and status in that order. A hold
-- enters it when it is settled (an update that writes a new entry in every index anyway, status being
-- in the active indexes' predicates), never while active, so placing a hold writes nothing more.
CREATE INDEX "holds_settled_idx" ON "holds" ("account_id", "status", "created_at", "id") WHERE "status" <> 'active';
