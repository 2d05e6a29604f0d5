import Stripe from 'stripe';

export interface StripeClientOptions {
  secretKey: string;
  /** Another Stripe-compatible server, e.g. the simulator: http://127.0.0.1:12111 */
  apiUrl?: string;
  timeoutMs: number;
  maxRetries: number;
}

/** The one Stripe client; with only a real key it talks to api.stripe.com, exactly as in tests otherwise. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const target = options.apiUrl ? new URL(options.apiUrl) : undefined;
  return new Stripe(options.secretKey, {
    maxNetworkRetries: options.maxRetries,
    timeout: options.timeoutMs,
    appInfo: { name: 'Tally' },
    ...(target
      ? {
          host: target.hostname,
          port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
          protocol: target.protocol.replace(':', '') as 'http' | 'https',
        }
      : {}),
  });
}
