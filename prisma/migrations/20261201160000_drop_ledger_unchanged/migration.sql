-- The check of a batch decided on kept account states is now part of the ledger's write statement
-- (src/db/ledger-queries.ts): it guards the write instead of raising an error, which PostgreSQL
-- logged with the whole batch's statement every time an account had changed.
DROP FUNCTION tally_ledger_unchanged(text[], bigint[]);
