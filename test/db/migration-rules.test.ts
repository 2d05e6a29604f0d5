import t from 'tap';
import { readMigrationFiles } from '../../src/db/migration-files.js';

// A deploy is rolling: the new release migrates while the previous one still serves, on the same
// database, for minutes; and a deploy rolled back serves the previous release on the newest schema.
// So a migration must leave everything the previous release reads, and must not hold a lock that
// stops spends for longer than a moment. These rules read every migration file and refuse what
// breaks that; the migrations that broke them before the rules existed are listed below, each with
// what it did, since an applied migration is never edited.

/** Tables that every spend, hold, capture or release writes (src/db/ledger-queries.ts). */
const SPEND_PATH_TABLES = new Set(['accounts', 'grants', 'holds', 'ledger_entries', 'idempotency_records']);

type Rule = { id: string; why: string; breaks(statement: string, createdHere: Set<string>): boolean };

const name = String.raw`"?(\w+)"?`;
const target = (statement: string, pattern: RegExp) => pattern.exec(statement)?.[1];
const onHotTable = (table: string | undefined, createdHere: Set<string>) => table !== undefined && SPEND_PATH_TABLES.has(table) && !createdHere.has(table);

const RULES: Rule[] = [
  {
    id: 'drops',
    why: 'the previous release may still read it (during the deploy, and after a roll back): drop it in a release after the one that stopped reading it',
    breaks: (s) => /\bDROP\s+(TABLE|COLUMN|FUNCTION|TYPE|VIEW|SCHEMA|SEQUENCE)\b/i.test(s),
  },
  { id: 'renames', why: 'the previous release reads the old name: add the new one beside it instead', breaks: (s) => /\bRENAME\b/i.test(s) },
  {
    id: 'retypes',
    why: 'the previous release reads the old type, and the table is rewritten under an exclusive lock',
    breaks: (s) => /\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b/i.test(s),
  },
  {
    id: 'not-null-without-default',
    why: "the previous release inserts rows without the column: give it a constant DEFAULT (no table rewrite), or let it be null",
    breaks: (s, created) => {
      if (created.has(target(s, new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${name}`, 'i')) ?? '')) return false;
      if (/\bSET\s+NOT\s+NULL\b/i.test(s)) return true;
      return [...s.matchAll(/\bADD\s+COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?"?\w+"?\s+([^,]*)/gi)].some(([, clause]) => /\bNOT\s+NULL\b/i.test(clause) && !/\bDEFAULT\b/i.test(clause));
    },
  },
  {
    id: 'blocking-index',
    why: 'CREATE INDEX without CONCURRENTLY stops every write to the table while it builds: 1.1 s for holds_settled_idx on a million holds',
    breaks: (s, created) =>
      !/\bCONCURRENTLY\b/i.test(s) && onHotTable(target(s, new RegExp(String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\b[^;]*?\bON\s+(?:ONLY\s+)?${name}`, 'i')), created),
  },
  {
    id: 'backfill',
    why: 'an UPDATE or DELETE of a spend-path table locks every row it touches until the migration commits (with any ALTER TABLE of the same file, the whole table): 10.8 s for 20261203145015_customer_details_sent on a million accounts. Backfill in batches from the code, outside migrations',
    breaks: (s, created) => onHotTable(target(s, new RegExp(String.raw`^(?:UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?${name}`, 'i')), created),
  },
  {
    id: 'validating-constraint',
    why: 'a CHECK or FOREIGN KEY added to an existing table reads all of it under a lock that stops its writes: add it NOT VALID, then VALIDATE CONSTRAINT in a migration of its own',
    breaks: (s, created) =>
      /\bADD\s+CONSTRAINT\b[^;]*\b(CHECK|FOREIGN\s+KEY)\b/i.test(s) &&
      !/\bNOT\s+VALID\b/i.test(s) &&
      onHotTable(target(s, new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${name}`, 'i')), created),
  },
];

/** Rules about a whole file. */
const FILE_RULES: Array<{ id: string; why: string; breaks(statements: string[]): boolean }> = [
  {
    id: 'concurrently-not-alone',
    why: 'a migration runs as one script, which PostgreSQL runs as one transaction, and refuses CREATE INDEX CONCURRENTLY inside one: give it a migration of its own',
    breaks: (statements) => statements.length > 1 && statements.some((s) => /\bCONCURRENTLY\b/i.test(s)),
  },
];

/** Broken before these rules: what each did, measured on PostgreSQL 15 with a million rows per table. */
const GRANDFATHERED: Record<string, Record<string, string>> = {
  '20261125112900_ledger_guards': {
    'validating-constraint': 'the CHECKs on grants, holds and ledger_entries came with the tables, in the first release: empty then',
    'blocking-index': 'likewise',
  },
  '20261125141151_holds_active_partial_indexes': { 'blocking-index': 'holds_active_expiry_idx: 0.16 s on a million holds, a tenth active' },
  '20261201130000_ledger_revocations': { 'blocking-index': 'ledger_entries_revocation_key: 0.17 s on a million ledger entries, every spend waiting' },
  '20261201160000_drop_ledger_unchanged': {
    drops: "tally_ledger_unchanged, which the release before it called for every batch decided on kept accounts: its processes' kept-account batches failed until they were replaced",
  },
  '20261203123000_holds_settled_index': { 'blocking-index': 'holds_settled_idx: 1.1 s on a million holds, holds waiting' },
  '20261203145015_customer_details_sent': { backfill: 'the UPDATE of accounts: 10.8 s on a million accounts with customers, spends on them waiting (503 past DATABASE_TIMEOUT_MS)' },
};

/** The file's statements, comments and dollar-quoted bodies left out. */
function statementsOf(sql: string): string[] {
  return sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\$(\w*)\$[\s\S]*?\$\1\$/g, "''")
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

function brokenRules(sql: string): Map<string, string[]> {
  const statements = statementsOf(sql);
  const created = new Set(statements.flatMap((s) => target(s, new RegExp(String.raw`^CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?${name}`, 'i')) ?? []));
  const broken = new Map<string, string[]>();
  for (const rule of RULES) {
    const offending = statements.filter((s) => rule.breaks(s, created));
    if (offending.length) broken.set(rule.id, offending);
  }
  for (const rule of FILE_RULES) if (rule.breaks(statements)) broken.set(rule.id, statements);
  return broken;
}

const why = (id: string) => [...RULES, ...FILE_RULES].find((rule) => rule.id === id)!.why;

t.test('every migration is safe to apply while the previous release serves, and to roll back from', async (t) => {
  for (const { name: migration, sql } of await readMigrationFiles()) {
    const allowed = GRANDFATHERED[migration] ?? {};
    for (const [id, statements] of brokenRules(sql)) {
      if (allowed[id]) continue;
      t.fail(`${migration}: ${statements[0].slice(0, 120)}: ${why(id)}`);
    }
    for (const id of Object.keys(allowed)) t.ok(brokenRules(sql).has(id), `${migration} is listed as breaking ${id}, which it does not (the rule changed?)`);
  }
});

t.test('the rules refuse what they are for, and let the safe way through', async (t) => {
  const cases: Array<[string, string, string | undefined]> = [
    ['drops a column', 'ALTER TABLE "grants" DROP COLUMN "reason";', 'drops'],
    ['drops a function', 'DROP FUNCTION tally_ledger_unchanged(text[], bigint[]);', 'drops'],
    ['renames', 'ALTER TABLE "holds" RENAME COLUMN "reason" TO "why";', 'renames'],
    ['retypes', 'ALTER TABLE "packs" ALTER COLUMN "credits" TYPE INTEGER;', 'retypes'],
    ['a NOT NULL column without a default', 'ALTER TABLE "packs" ADD COLUMN "tier" TEXT NOT NULL;', 'not-null-without-default'],
    ['SET NOT NULL', 'ALTER TABLE "packs" ALTER COLUMN "description" SET NOT NULL;', 'not-null-without-default'],
    ['a NOT NULL column with a constant default', `ALTER TABLE "grants" ADD COLUMN "debts" JSONB NOT NULL DEFAULT '[]';`, undefined],
    ['an index built with writes stopped', 'CREATE INDEX "x" ON "ledger_entries" ("created_at");', 'blocking-index'],
    ['an index built concurrently, alone', '-- why\nCREATE INDEX CONCURRENTLY "x" ON "ledger_entries" ("created_at");', undefined],
    ['an index built concurrently beside another statement', 'CREATE INDEX CONCURRENTLY "x" ON "holds" ("id");\nCREATE INDEX CONCURRENTLY "y" ON "holds" ("id");', 'concurrently-not-alone'],
    ['an index on a table made in the same migration', 'CREATE TABLE "holds_archive" ("id" TEXT);\nCREATE INDEX "a" ON "holds_archive" ("id");', undefined],
    ['an index on a table off the spend path', 'CREATE INDEX "x" ON "checkouts" ("url");', undefined],
    ['a backfill', `UPDATE "accounts" SET "name" = '' WHERE "name" IS NULL;`, 'backfill'],
    ['a CHECK validated at once', 'ALTER TABLE "grants" ADD CONSTRAINT "c" CHECK ("amount" < 10);', 'validating-constraint'],
    ['a CHECK NOT VALID', 'ALTER TABLE "grants" ADD CONSTRAINT "c" CHECK ("amount" < 10) NOT VALID;', undefined],
    ['a function body mentioning DROP TABLE', `CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE x; END $$;`, undefined],
  ];
  for (const [what, sql, rule] of cases) {
    const broken = [...brokenRules(sql).keys()];
    t.same(broken, rule ? [rule] : [], what);
  }
});
