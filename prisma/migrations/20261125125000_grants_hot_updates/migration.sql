-- Every spend rewrites `remaining` on a grant. With no index on that column (the partial index
-- "WHERE remaining > 0" was one) and room left in each page, PostgreSQL updates the row in place
-- (a HOT update) without touching the grant's four indexes. The spend path finds an account's
-- grants through (account_id, expires_at) and filters on remaining.
DROP INDEX "grants_with_credits_idx";
ALTER TABLE "grants" SET (fillfactor = 80);
