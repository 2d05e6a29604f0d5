import { randomFillSync } from 'node:crypto';

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
