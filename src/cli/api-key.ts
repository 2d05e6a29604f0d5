// npm run api-key -- create <name> [admin|service] | list | revoke <id>
// Uses DATABASE_URL, or the embedded database in TALLY_DATA_DIR (the running one if Tally is up).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/client.js';
import { startEmbeddedPostgres } from '../db/embedded-postgres.js';
import { applyMigrations } from '../db/migrations.js';
import { ApiKeys, type Role } from '../domain/api-keys/api-keys.js';

const [command, ...args] = process.argv.slice(2);
const usage = 'usage: npm run api-key -- create <name> [admin|service] | list | revoke <id>';
if (!['create', 'list', 'revoke'].includes(command ?? '')) {
  console.error(usage);
  process.exit(2);
}
const config = loadConfig();
const runningUrlFile = join(config.TALLY_DATA_DIR, 'postgres.url');
let url = config.DATABASE_URL ?? (existsSync(runningUrlFile) ? readFileSync(runningUrlFile, 'utf8').trim() : undefined);
let stop = async () => {};
const database = await (async () => {
  if (url) {
    const running = openDatabase(url, 2);
    // A url file left by a Tally that died: its server is gone, so start the embedded one here.
    if (config.DATABASE_URL || (await running.pool.query('SELECT 1').then(() => true, () => false))) return running;
    await running.close();
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.TALLY_DATA_DIR });
  url = embedded.url;
  stop = () => embedded.stop();
  await applyMigrations(url);
  return openDatabase(url, 2);
})();
try {
  const keys = new ApiKeys(database.prisma, config.TALLY_ADMIN_KEY);
  if (command === 'create') {
    const [name, role = 'service'] = args;
    if (!name || !['admin', 'service'].includes(role)) throw new Error(usage);
    const key = await keys.create(name, role as Role);
    console.log(`created ${key.role} key ${key.id} (${key.name}); the secret is shown once:\n${key.secret}`);
  } else if (command === 'list') {
    for (const key of await keys.list()) console.log(`${key.id}\t${key.role}\t${key.prefix}…\t${key.name}\t${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}`);
  } else {
    const key = await keys.revoke(args[0] ?? '');
    console.log(`revoked ${key.id} (${key.name})`);
  }
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
} finally {
  await database.close();
  await stop();
}
