export type StripeErrorType =
  | 'invalid_request_error'
  | 'api_error'
  | 'authentication_error'
  | 'card_error'
  | 'idempotency_error'
  | 'rate_limit_error';

/** An error answered in Stripe's wire shape: `{ error: { type, message, code, param } }`. */
export class StripeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: StripeErrorType,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }

  toJSON(): { error: Record<string, string> } {
    const error: Record<string, string> = { type: this.type, message: this.message };
    if (this.code) error.code = this.code;
    if (this.param) error.param = this.param;
    if (this.code) error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`;
    return { error };
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeError {
  return new StripeError(400, 'invalid_request_error', message, code, param);
}

/** An unknown id in the URL is a 404; an unknown id inside the params is a 400. */
export function noSuch(kind: string, id: string, param = 'id'): StripeError {
  const status = param === 'id' ? 404 : 400;
  return new StripeError(status, 'invalid_request_error', `No such ${kind}: '${id}'`, 'resource_missing', param);
}

/** The stored object of this id, or Stripe's `resource_missing` for it (404 for a path id, 400 for a parameter). */
export function found<T>(items: ReadonlyMap<string, T>, kind: string, id: string, param = 'id'): T {
  const item = items.get(id);
  if (item === undefined) throw noSuch(kind, id, param);
  return item;
}
