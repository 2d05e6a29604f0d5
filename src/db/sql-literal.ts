import { createRequire } from 'node:module';

// node-postgres's own conversion of a parameter to the text it sends (arrays as array literals,
// dates as ISO text). It is not exported from the package root, and ESM loaders differ on deep
// paths, so it is required.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue(value: unknown): string | Buffer | null | undefined };

/**
 * A parameter as an escaped SQL literal, exactly as the driver would send it: so that several
 * statements can travel in one simple-protocol round trip (the extended protocol takes one statement
 * at a time, and node-postgres does not pipeline).
 */
export function literal(param: unknown): string {
  const value = prepareValue(param);
  return value === null || value === undefined ? 'NULL' : quoteLiteral(String(value));
}

/**
 * What node-postgres's escapeLiteral writes (quotes doubled; with a backslash, backslashes doubled in
 * an E'' string), found with native string searches rather than a copy built a character at a time:
 * the ledger's write carries kilobytes of array and JSON text per batch.
 */
export function quoteLiteral(text: string): string {
  const hasQuote = text.includes("'");
  const hasBackslash = text.includes('\\');
  if (!hasQuote && !hasBackslash) return `'${text}'`;
  let body = hasQuote ? text.replaceAll("'", "''") : text;
  if (hasBackslash) body = body.replaceAll('\\', '\\\\');
  return hasBackslash ? ` E'${body}'` : `'${body}'`;
}
