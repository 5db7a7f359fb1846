import { v7 } from 'uuid';

/** Server-generated, time-ordered ids: never taken from a client, so they reveal nothing and page in order. */
export function newId(): string {
  return v7();
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
