-- Guards the schema language cannot express: the money rules hold even against a bug in the code.
ALTER TABLE "grants" ADD CONSTRAINT "grants_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "grants" ADD CONSTRAINT "grants_remaining_in_range" CHECK ("remaining" >= 0 AND "remaining" <= "amount");
ALTER TABLE "holds" ADD CONSTRAINT "holds_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "holds" ADD CONSTRAINT "holds_captured_in_range" CHECK ("captured_amount" IS NULL OR ("captured_amount" >= 0 AND "captured_amount" <= "amount"));
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_balances_non_negative" CHECK ("available_after" >= 0 AND "held_after" >= 0);

-- The ledger is append-only: entries are never updated or deleted.
CREATE FUNCTION "ledger_entries_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER "ledger_entries_append_only"
  BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION "ledger_entries_append_only"();

-- The spend path loads only grants with credits left.
CREATE INDEX "grants_with_credits_idx" ON "grants" ("account_id") WHERE "remaining" > 0;
CREATE INDEX "holds_active_idx" ON "holds" ("account_id") WHERE "status" = 'active';
