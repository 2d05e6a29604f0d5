import { createStripeSimulator } from './index.js';

const port = Number(process.env.STRIPE_SIMULATOR_PORT ?? 12111);
const host = process.env.STRIPE_SIMULATOR_HOST ?? '127.0.0.1';
const simulator = createStripeSimulator({
  webhookSecret: process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_simulator',
  ...(process.env.TALLY_WEBHOOK_URL ? { webhookUrl: process.env.TALLY_WEBHOOK_URL } : {}),
  ...(process.env.STRIPE_SIMULATOR_PUBLIC_URL ? { publicUrl: process.env.STRIPE_SIMULATOR_PUBLIC_URL } : {}),
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
});

const url = await simulator.listen(port, host);
simulator.app.log.info(`Stripe simulator on ${url}; events go to ${process.env.TALLY_WEBHOOK_URL ?? '(no webhook URL yet)'}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void simulator.close().then(() => process.exit(0));
  });
}
