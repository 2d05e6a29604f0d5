import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { createStripeClient } from './stripe/client.js';

/**
 * The OpenAPI document the app serves, built without a database (nothing connects until a query; the
 * instance id, which the database would give, is named).
 * `npm run openapi` writes it to openapi.yaml; a test fails when the two differ.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const url = 'postgresql://openapi@127.0.0.1:1/openapi';
  const database = openDatabase(url, 2);
  const stripe = createStripeClient({ secretKey: 'sk_test_openapi', apiUrl: 'http://127.0.0.1:1', timeoutMs: 1000, maxRetries: 0 });
  const billing = { stripe, webhookSecret: 'whsec_openapi', publicUrl: 'http://localhost:3000' };
  const app = await buildApp({ config: loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', TALLY_INSTANCE_ID: 'openapi' }), database, billing });
  await app.ready();
  const document = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  await database.close();
  return JSON.parse(JSON.stringify(document));
}
