/**
 * Characters a string may hold in JavaScript that Postgres cannot store (NUL in `text` and `jsonb`)
 * or cannot even receive (an unpaired UTF-16 surrogate has no UTF-8 encoding: the driver sends a
 * replacement character, or Postgres refuses the JSON). Every other character, control characters
 * included, is carried as it is: Postgres stores them and pino escapes them in its JSON lines.
 */
export type UnsafeCharacter = 'NUL' | 'UNPAIRED_SURROGATE';

/** The first reason this string cannot be stored as it is, if any. */
export function unsafeCharacterIn(value: string): UnsafeCharacter | undefined {
  if (value.includes('\u0000')) return 'NUL';
  if (!value.isWellFormed()) return 'UNPAIRED_SURROGATE';
  return undefined;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what this escapes.
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The string with each unsafe character written as its `\uXXXX` escape: storable, and still telling what was sent. */
export function escapeUnsafe(value: string): string {
  if (unsafeCharacterIn(value) === undefined) return value;
  return value.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A JSON-like value with every string (object keys included) passed through `escapeUnsafe`. */
export function escapeUnsafeDeep(value: unknown): unknown {
  if (typeof value === 'string') return escapeUnsafe(value);
  if (Array.isArray(value)) return value.map(escapeUnsafeDeep);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, each]) => [escapeUnsafe(key), escapeUnsafeDeep(each)]));
  }
  return value;
}

/** Why one piece of input was refused: where it was (argument path, never the value) and what was wrong. */
export interface InputRefusal {
  /** The root field it was an argument of, as `Mutation.createAgent`; the root type alone for an unused variable. */
  action: string;
  /** The argument path, as `createAgent.input.name` or `$input.config.tags[2]`; client-chosen keys escaped and cut short. */
  field: string;
  reason: UnsafeCharacter | 'TOO_DEEP';
}
