import { createRequire } from 'node:module';
import pg from 'pg';

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
  return value === null || value === undefined ? 'NULL' : pg.Client.prototype.escapeLiteral(String(value));
}
