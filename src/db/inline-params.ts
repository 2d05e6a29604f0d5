import pg from 'pg';
import { prepareValue } from 'pg/lib/utils.js';

/**
 * Writes parameters into SQL as escaped literals, exactly as the driver would send them, so that
 * several statements can travel in one simple-protocol round trip (the extended protocol takes one
 * statement at a time, and node-postgres does not pipeline).
 */
export function inlineParams(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = prepareValue(params[Number(n) - 1]);
    return value === null || value === undefined ? 'NULL' : pg.Client.prototype.escapeLiteral(String(value));
  });
}
