import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type Stripe from 'stripe';
import type { Config } from '../config.js';
import type { StripeSimulator } from '../simulator/index.js';
import { withoutUserinfo } from '../lib/without-userinfo.js';
import { createStripeClient } from './client.js';

export interface StripeSetup {
  client: Stripe;
  webhookSecret: string;
  /** Present when Tally runs against its built-in simulator (no STRIPE_SECRET_KEY). */
  simulator?: StripeSimulator;
  simulatorUrl?: string;
  describe: string;
}

/**
 * With STRIPE_SECRET_KEY, the real Stripe (or STRIPE_API_URL). Without it, the built-in simulator on
 * STRIPE_SIMULATOR_PORT, signing events with STRIPE_WEBHOOK_SECRET or a secret made for this run
 * (loadConfig has refused a key without its webhook secret, and a production without a key unless
 * STRIPE_SIMULATOR=on).
 */
export async function setUpStripe(config: Config): Promise<StripeSetup> {
  const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? `whsec_${randomBytes(24).toString('hex')}`;
  const clientOptions = { timeoutMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };
  if (config.STRIPE_SECRET_KEY) {
    return {
      client: createStripeClient({ secretKey: config.STRIPE_SECRET_KEY, apiUrl: config.STRIPE_API_URL, ...clientOptions }),
      webhookSecret,
      describe: config.STRIPE_API_URL ? `Stripe-compatible server at ${withoutUserinfo(config.STRIPE_API_URL)}` : 'Stripe',
    };
  }
  // Loaded only when used: a Tally with a real key carries none of it.
  const { createStripeSimulator } = await import('../simulator/index.js');
  // Kept beside the embedded database (TALLY_DATA_DIR): the ledger's packs, customers and sessions
  // name the simulator's objects, so the two are kept together across restarts.
  const simulator = createStripeSimulator({ webhookSecret, stateFile: join(config.TALLY_DATA_DIR, 'stripe-simulator.json') });
  const simulatorUrl = await simulator.listen(config.STRIPE_SIMULATOR_PORT, config.STRIPE_SIMULATOR_HOST);
  return {
    client: createStripeClient({ secretKey: 'sk_test_simulator', apiUrl: simulatorUrl, ...clientOptions }),
    webhookSecret,
    simulator,
    simulatorUrl,
    describe: `built-in Stripe simulator at ${simulatorUrl}`,
  };
}

