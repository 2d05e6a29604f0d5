import type Stripe from 'stripe';
import { UNSTORABLE } from '../lib/request-validator.js';

const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'gu');

/**
 * In JSON text, U+0000 and an unpaired surrogate can only be escapes (a raw one is not valid JSON, or
 * not valid UTF-8): where none appears, the text is stored as it came, unparsed again.
 */
const MAY_BE_UNSTORABLE = /\\u0000|\\u[dD][89a-fA-F]/;

/**
 * A verified event as `stripe_events` can keep it. PostgreSQL's jsonb refuses U+0000 and unpaired
 * surrogates, which text that Stripe passes on (a customer's name typed at Checkout, a dispute's
 * evidence, metadata) may carry; refused, every delivery of the event would fail, and the event
 * reconciler would fail on it at every pass. Such characters become U+FFFD, in what is stored and in
 * what is processed alike; no amount, id or status can contain them.
 */
export function storableEvent(event: Stripe.Event, payload: string): { event: Stripe.Event; payload: string } {
  if (!MAY_BE_UNSTORABLE.test(payload)) return { event, payload };
  let changed = false;
  const clean = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!UNSTORABLE.test(value)) return value;
      changed = true;
      return value.replace(UNSTORABLE_ALL, '\uFFFD');
    }
    if (Array.isArray(value)) return value.map(clean);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [clean(key) as string, clean(inner)]));
  };
  const cleaned = clean(event) as Stripe.Event;
  return changed ? { event: cleaned, payload: JSON.stringify(cleaned) } : { event, payload };
}
