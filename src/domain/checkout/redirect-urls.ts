import { ValidationFailure } from '../../errors.js';

/**
 * Where a paying user may be sent back to. A URL on another origin is refused, so that no one can
 * use Tally's checkout to bounce a customer to a site of their choosing.
 */
export class RedirectPolicy {
  private readonly origins: Set<string>;

  constructor(
    origins: string[],
    readonly defaults: { success: string; cancel: string; portalReturn: string },
  ) {
    this.origins = new Set(origins.map((o) => new URL(o).origin));
  }

  /**
   * A URL the request gives must be on an allowed origin; the fallback is the operator's setting
   * (CHECKOUT_SUCCESS_URL, ...) or Tally's own page, which no caller chooses, so it is not held to
   * them: TALLY_REDIRECT_ORIGINS naming only the shop would otherwise refuse every request that
   * leaves one URL to its default.
   */
  check(field: string, url: string | undefined, fallback: string): string {
    if (url === undefined) return fallback;
    let origin: string;
    try {
      origin = new URL(url.replace('{CHECKOUT_SESSION_ID}', 'x')).origin;
    } catch {
      throw new ValidationFailure('invalid_redirect_url', `${field} is not a URL`, { field });
    }
    if (!this.origins.has(origin)) {
      throw new ValidationFailure('redirect_origin_not_allowed', `${field} must be on an allowed origin (TALLY_REDIRECT_ORIGINS): ${origin} is not`, {
        field,
        allowedOrigins: [...this.origins],
      });
    }
    return url;
  }

  /** Stripe replaces {CHECKOUT_SESSION_ID} in the success URL; the page needs it to sync. */
  static withSessionId(url: string): string {
    if (url.includes('{CHECKOUT_SESSION_ID}')) return url;
    return `${url}${url.includes('?') ? '&' : '?'}session_id={CHECKOUT_SESSION_ID}`;
  }
}
