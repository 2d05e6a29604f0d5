import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConflictFailure, NotFoundFailure } from '../../errors.js';
import { newId, requestId } from '../../lib/ids.js';
import { isUniqueViolation } from '../../db/unique-violation.js';
import type { PrismaClient } from '../../db/client.js';

export type Role = 'admin' | 'service';

export interface Principal {
  keyId: string;
  role: Role;
}

export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** How long a verified key is trusted without asking the database again (revocation elsewhere). */
const CACHE_MS = 5_000;

/** Entries each cache holds before it starts again. */
const CACHE_ENTRIES = 10_000;

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Keys are stored as sha256 hashes; the secret is shown once, at creation. */
export class ApiKeys {
  /**
   * Lookups remembered for `cacheMs` (CACHE_MS), by hash: keys that authenticate in one map, those that do not
   * in another, so that a flood of made-up keys fills and clears only its own.
   */
  private readonly known = new Map<string, { principal: Principal; until: number }>();
  private readonly unknown = new Map<string, number>();
  /** Lookups in flight, by hash: requests that arrive meanwhile wait for the same one. */
  private readonly lookups = new Map<string, Promise<Principal | undefined>>();
  /** Moves on at every revocation, so that a lookup begun before it does not fill the cache after. */
  private generation = 0;
  private readonly bootstrapHash: Buffer | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    bootstrapAdminKey?: string,
    private readonly cacheMs = CACHE_MS,
  ) {
    this.bootstrapHash = bootstrapAdminKey ? Buffer.from(hashKey(bootstrapAdminKey), 'hex') : undefined;
  }

  /**
   * A new key. Under the client's Idempotency-Key (`requestKey`) its id is the key's and the request's,
   * so a retry cannot make a second key; but the secret is kept only as its hash, so the retry cannot
   * be shown it: it is the 409 api_key_already_created naming the key, to revoke if its secret was lost.
   */
  async create(name: string, role: Role, requestKey?: string): Promise<ApiKeyView & { secret: string }> {
    if (!requestKey) return createKey(this.prisma, newId('key'), name, role);
    const id = requestId('key', requestKey, { name, role });
    if (await this.prisma.apiKey.findUnique({ where: { id }, select: { id: true } })) throw new KeyAlreadyCreatedFailure(id);
    return createKey(this.prisma, id, name, role).catch((error: unknown) => {
      // The same request sent again while the first was making it: the first's insert came first.
      throw isUniqueViolation(error) ? new KeyAlreadyCreatedFailure(id) : error;
    });
  }

  /**
   * An admin key for a database that has no active one, made once however many processes start at
   * once (each would otherwise find none, make one and show its own): the check and the insert hold
   * one transaction's advisory lock. Undefined when an active admin key exists.
   */
  createFirstAdmin(name: string): Promise<(ApiKeyView & { secret: string }) | undefined> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${FIRST_ADMIN_LOCK})`;
      if ((await tx.apiKey.count({ where: { role: 'admin', revokedAt: null } })) > 0) return undefined;
      return createKey(tx, newId('key'), name, 'admin');
    });
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map(view);
  }

  /**
   * Revokes a key; revoking it again changes nothing. The last active admin key is kept (409
   * last_admin_key) unless TALLY_ADMIN_KEY is set: without it, nothing could manage keys over the
   * API any more. Create another admin key first.
   */
  async revoke(id: string): Promise<ApiKeyView> {
    const row = await this.prisma.$transaction(async (tx) => {
      // Every active admin key, locked: two revocations at once cannot each leave the other as the last.
      const activeAdmins = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL ORDER BY id FOR UPDATE`;
      const found = await tx.apiKey.findUnique({ where: { id } });
      if (!found) throw new NotFoundFailure('api_key', id);
      if (found.revokedAt) return found;
      if (found.role === 'admin' && !this.bootstrapHash && activeAdmins.every((admin) => admin.id === id)) {
        throw new ConflictFailure('last_admin_key', 'This is the last active admin key: create another admin key before revoking it', { id });
      }
      return tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    });
    this.generation++;
    this.known.clear();
    this.unknown.clear();
    this.lookups.clear();
    return view(row);
  }

  async verify(secret: string): Promise<Principal | undefined> {
    const hash = hashKey(secret);
    if (this.bootstrapHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.bootstrapHash)) return { keyId: 'env:TALLY_ADMIN_KEY', role: 'admin' };
    const now = Date.now();
    const known = this.known.get(hash);
    if (known && known.until > now) return known.principal;
    if ((this.unknown.get(hash) ?? 0) > now) return undefined;
    const inFlight = this.lookups.get(hash);
    if (inFlight) return inFlight;
    const lookup: Promise<Principal | undefined> = this.lookUp(hash).finally(() => {
      if (this.lookups.get(hash) === lookup) this.lookups.delete(hash);
    });
    this.lookups.set(hash, lookup);
    return lookup;
  }

  /** One database lookup of a key, cached for `cacheMs` unless a revocation happened meanwhile. */
  private async lookUp(hash: string): Promise<Principal | undefined> {
    const generation = this.generation;
    const row = await this.prisma.apiKey.findUnique({ where: { hash } });
    const principal = row && !row.revokedAt ? { keyId: row.id, role: row.role } : undefined;
    if (generation !== this.generation) return principal;
    const until = Date.now() + this.cacheMs;
    if (principal) remember(this.known, hash, { principal, until });
    else remember(this.unknown, hash, until);
    return principal;
  }
}

class KeyAlreadyCreatedFailure extends ConflictFailure {
  constructor(id: string) {
    super('api_key_already_created', `This Idempotency-Key already created API key ${id}, whose secret was shown only then: revoke it if the secret was lost, and create another`, { id });
  }
}

/** The advisory lock of createFirstAdmin (any constant of Tally's own). */
const FIRST_ADMIN_LOCK = 0x7a11ad;

type KeyWriter = Pick<PrismaClient, 'apiKey'>;

async function createKey(db: KeyWriter, id: string, name: string, role: Role): Promise<ApiKeyView & { secret: string }> {
  const secret = `tally_${role === 'admin' ? 'admin' : 'svc'}_${randomBytes(24).toString('base64url')}`;
  const row = await db.apiKey.create({
    data: { id, name, role, hash: hashKey(secret), prefix: secret.slice(0, 14) },
  });
  return { ...view(row), secret };
}

function remember<T>(cache: Map<string, T>, hash: string, entry: T): void {
  if (cache.size >= CACHE_ENTRIES) cache.clear();
  cache.set(hash, entry);
}

function view(row: { id: string; name: string; role: Role; prefix: string; createdAt: Date; revokedAt: Date | null }): ApiKeyView {
  return { id: row.id, name: row.name, role: row.role, prefix: row.prefix, createdAt: row.createdAt.toISOString(), revokedAt: row.revokedAt?.toISOString() ?? null };
}
