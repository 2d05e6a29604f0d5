-- AlterTable
ALTER TABLE "idempotency_records" ADD COLUMN     "creates_running" INTEGER;

-- Null for every record before: a create's claim made by an earlier version counts as made, so it is
-- never given back (the same request sent again makes the create again, as it did; another is a 409).
