import { createHash, randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ID_BYTES = 20;

// Random bytes are drawn 4 KiB at a time: a draw of 20 is a system call of its own, which cost more
// than the rest of placing a hold. Each byte is still used once.
const pool = Buffer.alloc(ID_BYTES * 205);
let offset = pool.length;

/** A prefixed random id (`grt_4fK...`): 20 base62 characters, about 119 bits. */
export function newId(prefix: string): string {
  if (offset + ID_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let id = '';
  for (let i = offset; i < offset + ID_BYTES; i++) id += ALPHABET[pool[i] % 62];
  offset += ID_BYTES;
  return `${prefix}_${id}`;
}

/**
 * The id of what a keyed create makes: from the client's Idempotency-Key and the request together, so
 * that the same request sent again finds what it made (a retry after a process stopped mid-create),
 * and the key reused for another request once its record is purged makes its own. `request` is flat:
 * its fields, sorted, say the same request whatever order they came in.
 */
export function requestId(prefix: string, requestKey: string, request: object): string {
  const fields = JSON.stringify(request, Object.keys(request).sort());
  return `${prefix}_${createHash('sha256').update(JSON.stringify([requestKey, fields])).digest('base64url').slice(0, 20)}`;
}
