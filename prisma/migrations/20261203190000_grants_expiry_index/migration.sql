-- The expiry sweeper looks for grants past their expiry with credits left. It read every grant to
-- find them (a Seq Scan: 83–87 ms on a million grants, every SWEEP_INTERVAL_MS in every process). It now
-- asks only for grants that expired since its last complete pass (src/domain/ledger/expiry-sweeper.ts):
-- a range of this index. expires_at is written once, when a grant is made, so a spend's update of
-- `remaining` stays HOT (20261125125000_grants_hot_updates). Built CONCURRENTLY, alone in its
-- migration, so that spends go on while it builds.
CREATE INDEX CONCURRENTLY "grants_expires_at_idx" ON "grants" ("expires_at") WHERE "expires_at" IS NOT NULL;
