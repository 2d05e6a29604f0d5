import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiKeys } from './api-keys.js';

export type AdminKeyNotice = { kind: 'env' } | { kind: 'file'; secret: string; path: string } | { kind: 'created'; secret: string } | { kind: 'existing' };

/**
 * Makes sure someone can administer this Tally. With TALLY_ADMIN_KEY there is nothing to do. With the
 * embedded database, a development key is kept in the data folder and shown at every start. Against
 * an external database, a first admin key is created when none exists, and shown once.
 */
export async function bootstrapAdminKey(apiKeys: ApiKeys, options: { envKey?: string; dataDir?: string }): Promise<AdminKeyNotice> {
  if (options.envKey) return { kind: 'env' };
  if (options.dataDir) {
    const path = join(options.dataDir, 'admin-key');
    const saved = (await readFile(path, 'utf8').catch(() => '')).trim();
    if (saved && (await apiKeys.verify(saved))?.role === 'admin') return { kind: 'file', secret: saved, path };
    const created = await apiKeys.create('development admin key', 'admin');
    await writeFile(path, `${created.secret}\n`, { mode: 0o600 });
    return { kind: 'file', secret: created.secret, path };
  }
  const created = await apiKeys.createFirstAdmin('first admin key');
  return created ? { kind: 'created', secret: created.secret } : { kind: 'existing' };
}
