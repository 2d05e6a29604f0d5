-- The renewal reconciler asks Stripe about live subscriptions whose recorded period has ended (Tally
-- has not heard of their renewal): a partial index of the live ones by period end, so a pass reads
-- the few that are due and not every live or finished subscription. The status list is isLive
-- (src/domain/subscriptions/read-subscription-state.ts); the query repeats it word for word.
CREATE INDEX "subscriptions_live_period_end_idx" ON "subscriptions" ("current_period_end") WHERE "status" IN ('active', 'trialing', 'past_due', 'unpaid', 'paused');
