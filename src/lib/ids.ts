import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A prefixed random id (`grt_4fK...`): 20 base62 characters, about 119 bits. */
export function newId(prefix: string): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte % 62];
  return `${prefix}_${id}`;
}
