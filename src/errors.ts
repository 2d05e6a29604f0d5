/**
 * Failures the domain reports, free of HTTP. `plugins/error-handler.ts` is the one place that maps a
 * kind to a status code. `code` is stable: clients switch on it.
 */
export type FailureKind =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'insufficient_credits'
  | 'unauthenticated'
  | 'forbidden'
  | 'unsupported_media'
  | 'third_party'
  | 'unavailable';

export class TallyError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** What the log says of it: the message, unless that may quote a customer's data. */
  get logMessage(): string {
    return this.message;
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export class ValidationFailure extends TallyError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('validation', code, message, details);
  }
}

/**
 * A Stripe object that no retry can make usable: Stripe does not know it, or it lacks what its type
 * promises. The event carrying it is processed as nothing to do (logged), not failed and retried for ever.
 */
export class UnusableStripeObjectFailure extends ValidationFailure {
  constructor(message: string, details: Record<string, unknown>) {
    super('unusable_stripe_object', message, details);
  }
}

export class NotFoundFailure extends TallyError {
  constructor(what: string, id: string) {
    super('not_found', `${what}_not_found`, `No ${what.replace(/_/g, ' ')} with id '${id}'`, { id });
  }
}

export class ConflictFailure extends TallyError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}

/** An Idempotency-Key already used with another request (another operation or another body). */
export class KeyReusedFailure extends ConflictFailure {
  constructor(key: string) {
    super('idempotency_key_reused', `Idempotency-Key '${key}' was already used with a different request`, { idempotencyKey: key });
  }
}

/**
 * Stripe is still making what an earlier request asked of it under the same Stripe idempotency key (the
 * same request sent again while the first is still being made, or two first checkouts of one account
 * making its customer): the same request sent again in a moment gets its answer.
 */
export class RequestInProgressFailure extends ConflictFailure {
  constructor(what: string, details?: Record<string, unknown>) {
    super('request_in_progress', `An earlier request is still being made at Stripe (to ${what}): send this request again in a moment`, details);
  }
}

/** A body Tally cannot read as sent (a Content-Encoding it does not decode). */
export class UnsupportedMediaFailure extends TallyError {
  constructor(code: string, message: string) {
    super('unsupported_media', code, message);
  }
}

export class InsufficientCreditsFailure extends TallyError {
  constructor(available: number, required: number) {
    super('insufficient_credits', 'insufficient_credits', `Not enough credits: ${available} available, ${required} required`, {
      available,
      required,
    });
  }
}

export class AuthenticationFailure extends TallyError {
  constructor(message = 'A valid API key is required: Authorization: Bearer <key>') {
    super('unauthenticated', 'unauthorized', message);
  }
}

export class PermissionFailure extends TallyError {
  constructor(role: string) {
    super('forbidden', 'forbidden', `This operation needs an ${role} key`);
  }
}

/** Stripe (or another provider) refused or failed; `code` says which way. */
export class ThirdPartyFailure extends TallyError {
  constructor(code: string, message: string, details?: Record<string, unknown>, unavailable = false) {
    super(unavailable ? 'unavailable' : 'third_party', code, message, details);
  }
}

/** Stripe could not be reached, did not answer in time, or is rate limiting: a later try may succeed, and trying the next object now would fail the same way. */
export function isThirdPartyUnavailable(error: unknown): error is ThirdPartyFailure {
  return error instanceof ThirdPartyFailure && error.kind === 'unavailable';
}

/**
 * Stripe refused a request as invalid. Its message may quote what was sent ("Invalid email address:
 * ada@..."): the caller reads it, about its own account; the log keeps Stripe's code and request id only.
 */
export class StripeRefusedFailure extends ThirdPartyFailure {
  constructor(
    private readonly what: string,
    stripeMessage: string,
    details: Record<string, unknown>,
  ) {
    super('stripe_invalid_request', `Stripe refused the request to ${what}: ${stripeMessage}`, details);
  }

  override get logMessage(): string {
    return `Stripe refused the request to ${this.what} (its message, which may quote the customer, is in the answer only)`;
  }
}

export class UnavailableFailure extends TallyError {
  constructor(code: string, message: string) {
    super('unavailable', code, message);
  }
}

/** PostgreSQL does not answer (down, restarting, failing over, or no connection to be had in time). */
export class DatabaseUnavailableFailure extends UnavailableFailure {
  constructor(message = 'The database does not answer: send the request again in a moment (a write with the same Idempotency-Key, which applies it at most once)') {
    super('database_unavailable', message);
  }
}
