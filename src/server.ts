import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import { applyMigrations } from './db/migrations.js';
import { bootstrapAdminKey, type AdminKeyNotice } from './domain/api-keys/bootstrap-admin-key.js';

async function main(config: Config): Promise<void> {
  const embedded = config.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: config.TALLY_DATA_DIR });
  const url = config.DATABASE_URL ?? embedded!.url;
  await applyMigrations(url);
  const database = openDatabase(url, config.DATABASE_POOL_SIZE);
  const app = await buildApp({ config, database });
  const notice = await bootstrapAdminKey(app.apiKeys, { envKey: config.TALLY_ADMIN_KEY, dataDir: embedded ? config.TALLY_DATA_DIR : undefined });

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close(); // stops accepting, finishes in-flight requests, drains the ledger
    await database.close();
    await embedded?.stop();
  });

  const address = await app.listen({ port: config.PORT, host: config.HOST });
  const base = config.PUBLIC_URL ?? address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost');
  printBanner(base, embedded ? `embedded PostgreSQL in ${config.TALLY_DATA_DIR}` : 'DATABASE_URL', notice);
}

/** Written to stdout for the person who started Tally, outside the JSON log stream. */
function printBanner(base: string, database: string, notice: AdminKeyNotice): void {
  const key =
    notice.kind === 'env'
      ? 'the value of TALLY_ADMIN_KEY'
      : notice.kind === 'existing'
        ? 'an existing admin key (create more with npm run api-key)'
        : notice.kind === 'file'
          ? `${notice.secret}   (kept in ${notice.path})`
          : `${notice.secret}   (shown once: store it now)`;
  process.stdout.write(
    [
      '',
      `Tally is listening on ${base}`,
      `  API docs:   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  database:   ${database}`,
      `  admin key:  ${key}`,
      `  try:        curl -H "Authorization: Bearer <admin key>" ${base}/v1/api-keys`,
      '',
    ].join('\n') + '\n',
  );
}

try {
  await main(loadConfig());
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  throw error;
}
