-- A batch of spends decided on account states a Tally process kept from its last batch (rather than
-- loaded) writes only if no ledger entry was added to those accounts since: each entry id is drawn
-- from a sequence while the account is locked, so an account's latest entry is the newest change of
-- its balance, grants and holds. Called after the batch has locked the accounts; raises SQLSTATE TL001
-- when any account has moved on, which rolls the batch back before it writes anything.
CREATE FUNCTION tally_ledger_unchanged(account_ids text[], last_entry_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM unnest(account_ids, last_entry_ids) AS kept(account_id, last_entry_id)
    WHERE (SELECT max(e.id) FROM ledger_entries e WHERE e.account_id = kept.account_id) IS DISTINCT FROM kept.last_entry_id
  ) THEN
    RAISE EXCEPTION 'a kept account state is out of date' USING ERRCODE = 'TL001';
  END IF;
END
$$;
