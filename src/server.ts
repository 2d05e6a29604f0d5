import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { EmbeddedPostgresError, freePort, startEmbeddedPostgres } from './db/embedded-postgres.js';
import { migrateAtStart } from './db/migrate-in-child.js';
import { MigrationRefusal } from './db/migration-refusal.js';
import { DatabaseStartError, waitForDatabase } from './db/wait-for-database.js';
import { bootstrapAdminKey, type AdminKeyNotice } from './domain/api-keys/bootstrap-admin-key.js';
import { SHUTDOWN_GRACE_MS } from './shutdown-grace.js';
import { setUpStripe } from './stripe/stripe-setup.js';
import { portInUse, PortInUseError, StartGuard } from './start-guard.js';

const guard = new StartGuard();

async function main(config: Config): Promise<void> {
  const embedded = config.DATABASE_URL ? undefined : await startEmbeddedPostgres({ dataDir: config.TALLY_DATA_DIR, onNotice: (line) => process.stderr.write(`${line}\n`) });
  if (embedded) guard.opens(() => embedded.stop());
  const url = config.DATABASE_URL ?? embedded!.url;
  if (!embedded) await waitForDatabase(url, config.DATABASE_WAIT_SECONDS, (line) => process.stderr.write(`${line}\n`));
  // Lets `npm run api-key` reach the embedded server while Tally runs (removed again on a clean stop).
  if (embedded) writeFileSync(join(config.TALLY_DATA_DIR, 'postgres.url'), `${url}\n`, { mode: 0o600 });
  if (embedded) guard.opens(() => rmSync(join(config.TALLY_DATA_DIR, 'postgres.url'), { force: true }));
  const migrating = migrateAtStart(url, (line) => process.stderr.write(`${line}\n`));
  // A stop while migrating lets the migration (a child process) finish, within the stop's 5 s, before
  // the embedded PostgreSQL is stopped under it; past them the process exits and leaves both running.
  guard.opens(() => migrating.catch(() => undefined));
  await migrating;
  const database = openDatabase(url, config.DATABASE_POOL_SIZE, config.DATABASE_TIMEOUT_MS);
  guard.opens(() => database.close());
  // Only the built-in simulator listens here: a port in use is STRIPE_SIMULATOR_PORT's.
  const stripe = await setUpStripe(config).catch((error: unknown) => {
    throw portInUse(error, 'STRIPE_SIMULATOR_PORT', config.STRIPE_SIMULATOR_PORT);
  });
  guard.opens(() => stripe.simulator?.close());
  // The public URL is needed before listening (default redirect pages), so a port of 0 is chosen now.
  const port = config.PORT || (await freePort());
  const publicUrl = (config.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/$/, '');
  const app = await buildApp({ config, database, billing: { stripe: stripe.client, webhookSecret: stripe.webhookSecret, publicUrl } });
  guard.opens(() => app.close());

  // The step the shutdown is at, named in the one line written if it does not finish in time
  // (close-with-grace then exits with code 1; its own line is plain text, and says no more).
  let step = 'starting to shut down';
  let shuttingDown = false;
  const onTimeout = (delay: number) => app.log.error({ step, graceMs: delay }, 'the shutdown did not finish in time: exiting with code 1');
  await app.listen({ port, host: config.HOST }).catch((error: unknown) => {
    throw portInUse(error, 'PORT', port);
  });
  // Serving: from here on the graceful shutdown closes what the start opened, on the same signals.
  if (guard.stopped) return;
  guard.serving();
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS, onTimeout }, async ({ signal, err }) => {
    shuttingDown = true;
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    step = 'closing the built-in Stripe simulator';
    await stripe.simulator?.close();
    step = 'closing the server: in-flight requests, then the ledger, background tasks and event work';
    await app.close(); // stops accepting, finishes in-flight requests, drains the ledger and event work
    step = 'closing the database pool';
    await database.close();
    step = 'stopping the embedded PostgreSQL';
    await embedded?.stop();
    if (embedded) rmSync(join(config.TALLY_DATA_DIR, 'postgres.url'), { force: true });
  });

  stripe.simulator?.setWebhookUrl(`http://127.0.0.1:${port}/v1/webhooks/stripe`);
  // Only once listening succeeded, and printed straight after: a first admin key (external database,
  // shown once) made by a start that then failed to listen would be stored and seen by no one.
  // A SIGTERM meanwhile may close the pool under it: then there is no banner to print, and no error.
  const notice = await bootstrapAdminKey(app.apiKeys, { envKey: config.TALLY_ADMIN_KEY, dataDir: embedded ? config.TALLY_DATA_DIR : undefined }).catch((error: unknown) => {
    if (shuttingDown) return undefined;
    throw error;
  });
  if (!notice) return;
  app.log.info({ instance: app.instance.id }, 'Tally instance (tally_instance in what it makes in Stripe)');
  printBanner(publicUrl, embedded ? `embedded PostgreSQL in ${config.TALLY_DATA_DIR}` : 'DATABASE_URL', stripe.describe, notice, app.instance.id);
}

/** Written to stdout for the person who started Tally, outside the JSON log stream. */
function printBanner(base: string, database: string, stripe: string, notice: AdminKeyNotice, instance: string): void {
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
      `  stripe:     ${stripe}`,
      `  instance:   ${instance}   (stamped into what this Tally makes in Stripe)`,
      `  admin key:  ${key}`,
      `  try:        curl -H "Authorization: Bearer <admin key>" ${base}/v1/packs`,
      '',
    ].join('\n') + '\n',
  );
}

try {
  await main(loadConfig());
} catch (error) {
  // Stopped while starting: what failed is what the stop closed under the start, and the stop exits.
  if (guard.stopped) await new Promise(() => undefined);
  await guard.closeOpened();
  if (error instanceof ConfigError || error instanceof PortInUseError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  if (error instanceof EmbeddedPostgresError || error instanceof DatabaseStartError || error instanceof MigrationRefusal) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
