import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret value (token, key, credential) that prints as `[redacted]` through every path that
 * stringifies it: template strings, JSON, util.inspect and loggers. Read it with `reveal()` only
 * where it is put on the wire or hashed. Creating one registers its value with the log scrubber.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    knownSecretValues.add(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Values the log stream scrubs wherever they appear, even inside a message or a stack trace.
 * Bounded so a long-running gateway does not keep every secret it ever minted in memory.
 */
export const knownSecretValues = new (class BoundedSet {
  /** Each value as it appears inside a JSON string (log lines are pino's JSON). */
  readonly #values = new Map<string, string>();
  readonly #limit = 10_000;

  add(value: string): void {
    if (value.length < 8) return; // too short to scrub without mangling ordinary text
    this.#values.delete(value);
    this.#values.set(value, JSON.stringify(value).slice(1, -1));
    if (this.#values.size > this.#limit) {
      const oldest = this.#values.keys().next().value;
      if (oldest !== undefined) this.#values.delete(oldest);
    }
  }

  scrub(line: string): string {
    let out = line;
    for (const escaped of this.#values.values()) {
      if (out.includes(escaped)) out = replaceOutsideEscapes(out, escaped, REDACTED);
    }
    return out;
  }
})();

/**
 * Replaces `needle` wherever it starts a character of the JSON text, never inside an escape
 * (`\\n-secret` holds `n-secret`, `\\"` holds `"`): replacing there broke the line's JSON
 * (found by test/fuzz.test.ts with the credential value `"; drop table agents; --`). A scan, not a
 * regular expression: a value may be longer than a regular expression may be.
 */
function replaceOutsideEscapes(text: string, needle: string, replacement: string): string {
  let out = '';
  let from = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
    if (at < from) continue; // inside the previous match
    let backslashes = 0;
    for (let i = at - 1; i >= from && text[i] === '\\'; i--) backslashes++;
    if (backslashes % 2 === 1) continue;
    out += text.slice(from, at) + replacement;
    from = at + needle.length;
  }
  return out + text.slice(from);
}
