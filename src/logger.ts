import type { FastifyServerOptions } from 'fastify';

/** JSON logs; credentials and the personal data a database error quotes never reach them, whatever a log call passes in. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  'authorization',
  'secret',
  '*.secret',
  'apiKey',
  'stripeSecretKey',
  // PostgreSQL's detail quotes the values of the row or key it refused ("Failing row contains (...)",
  // a customer's email and name among them): as pg gives it, as Prisma wraps it, as a cause.
  'err.detail',
  'err.cause.detail',
  'err.meta.driverAdapterError.cause.detail',
];

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  } as FastifyServerOptions['logger'];
}
