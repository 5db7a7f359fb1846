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
  readonly #values = new Set<string>();
  readonly #limit = 10_000;

  add(value: string): void {
    if (value.length < 8) return; // too short to scrub without mangling ordinary text
    this.#values.delete(value);
    this.#values.add(value);
    if (this.#values.size > this.#limit) {
      const oldest = this.#values.values().next().value;
      if (oldest !== undefined) this.#values.delete(oldest);
    }
  }

  scrub(line: string): string {
    let out = line;
    for (const value of this.#values) {
      if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    }
    return out;
  }
})();
