import type { FastifyRequest } from 'fastify';
import { StripeError } from './stripe-error.js';

/** Any `sk_` key works, except the ones tests use to provoke a 401. */
export async function authenticate(request: FastifyRequest): Promise<void> {
  const key = apiKey(request.headers.authorization ?? '');
  if (key === '') {
    throw new StripeError(
      401, 'authentication_error',
      'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').',
    );
  }
  if (!key.startsWith('sk_') || key.startsWith('sk_test_invalid')) {
    const masked = `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
    throw new StripeError(401, 'authentication_error', `Invalid API Key provided: ${masked}`, 'api_key_invalid');
  }
}

/** Bearer, or Basic with the key as user name (`curl -u sk_test_...:`), as Stripe accepts both. */
function apiKey(header: string): string {
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (!header.startsWith('Basic ')) return '';
  return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0]?.trim() ?? '';
}
