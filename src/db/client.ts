import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type { PrismaClient };

export interface Database {
  /** The ledger's hot path speaks SQL over this pool; Prisma shares it for everything else. */
  pool: pg.Pool;
  prisma: PrismaClient;
  close(): Promise<void>;
}

// bigint columns (amounts, entry ids) arrive as strings by default; every amount Tally stores is at
// most 10^12 per row and sums stay far below 2^53, so numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function openDatabase(connectionString: string, poolSize: number): Database {
  // A connection that cannot be had in 10 s (a server that does not answer, a pool busy that long)
  // fails the request with a 503 database_unavailable, rather than holding it for as long as TCP tries.
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => {
    // An idle connection dropped by the server; the pool replaces it on next use.
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
