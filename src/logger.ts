import type { FastifyServerOptions } from 'fastify';

/** JSON logs; credentials never reach them, whatever a log call passes in. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  'authorization',
  'secret',
  '*.secret',
  'apiKey',
  'stripeSecretKey',
];

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  } as FastifyServerOptions['logger'];
}
