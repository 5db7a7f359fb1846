import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** Random bytes for 256 ids, filled at once: uuid's own source asks webcrypto for 16 bytes per id (4–20 µs each, a write's 2 %). */
const pool = new Uint8Array(16 * 256);
let drawn = pool.length;
/** uuid's v7 monotonic state (RFC 9562 method 1), kept here because uuid keeps it only when it draws the bytes itself. */
let lastMs = Number.NEGATIVE_INFINITY;
let seq = 0;

/**
 * Server-generated, time-ordered ids: never taken from a client, so they reveal nothing and page in
 * order. uuid v7 from uuid's encoder, with a 32-bit counter seeded from the random bytes at each new
 * millisecond and incremented within one, exactly as uuid does, so ids made in one process increase.
 */
export function newId(): string {
  if (drawn === pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  const random = pool.subarray(drawn, drawn + 16);
  drawn += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    seq = (((random[6] as number) & 0x7f) << 24) | ((random[7] as number) << 16) | ((random[8] as number) << 8) | (random[9] as number);
  } else {
    seq = (seq + 1) | 0;
    if (seq === 0) lastMs += 1;
  }
  return v7({ random, msecs: lastMs, seq });
}

/** A uuid as text, 8-4-4-4-12 hex digits in lower case: the form newId() and Postgres write. */
export const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UUID = new RegExp(`^${UUID_PATTERN}$`, 'i');
const CANONICAL_UUID = new RegExp(`^${UUID_PATTERN}$`);

/**
 * The one uuid check for ids from outside (arguments, global IDs, cursors, claims): 8-4-4-4-12 hex
 * digits in either case, which Postgres reads as a uuid. Every id Fleetgate hands out passes; anything
 * else can name no row, so callers answer it like a missing row before it reaches SQL (where it
 * would be a 22P02 error, not a "not found").
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * A uuid in exactly the lower-case form newId() and Postgres write. For ids where one id must have
 * one spelling: those that name a file, directory or socket, and those in tokens the gateway signed.
 */
export function isCanonicalUuid(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL_UUID.test(value);
}
