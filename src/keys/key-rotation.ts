import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../shared/logger.ts';
import type { KeyProvider, WrappedKeyHolder } from './key-provider.ts';
import { holdKeyVersionsExclusively } from './key-version-lock.ts';

export interface KeyRotationOptions {
  /** Every region's database, always in one order: retirement holds KEY_VERSION_LOCK in each, since each holds wrapped keys. */
  orms: MikroORM[];
  provider: KeyProvider;
  log: Logger;
  /** Every store of wrapped data keys; a version is retired only when none of them holds a key below it. */
  holders: WrappedKeyHolder[];
  /** Rows rewrapped per round trip to the database. */
  batchSize?: number;
}

/**
 * The background half of KEK rotation: rewraps every data key wrapped under an older version (the
 * provider unwraps and wraps inside itself, so no value is ever decrypted), then retires the older
 * versions. Durable because it keeps no state of its own: the rows' key versions are the work list,
 * so it resumes after a crash or on another replica, and running it twice is harmless. Runs at
 * start, after every rotation and periodically. Reads never stop: a row is rewrapped in place, and
 * retirement waits (KEY_VERSION_LOCK) for every transaction that might still use an old version.
 */
export class KeyRotation {
  readonly #options: Required<KeyRotationOptions>;
  readonly #log: Logger;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: KeyRotationOptions) {
    this.#options = { batchSize: 200, ...options };
    this.#log = options.log.child({ component: 'key-rotation', provider: options.provider.kind });
  }

  /** Runs now and then every `intervalMs` (0: now only). */
  start(intervalMs: number): void {
    this.poke();
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.poke(), intervalMs);
      this.#timer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Starts a pass, or one more after the current pass when one is running. */
  poke(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.runOnce().catch((error: unknown) =>
          this.#log.warn({ reason: error instanceof Error ? error.message : 'unknown' }, 'rewrap pass failed; will retry'),
        );
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Waits for the pass under way, if any (tests). */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Data keys still wrapped under a version below `version`, over every holder. */
  async pending(version: number): Promise<number> {
    let total = 0;
    for (const holder of this.#options.holders) total += await holder.countBelow(version);
    return total;
  }

  /** One pass: rewrap everything below the newest version, then retire the older versions. */
  async runOnce(): Promise<{ rewrapped: number; retiredBelow: number | null }> {
    const { provider, holders, batchSize } = this.#options;
    const { latestVersion, minDecryptionVersion } = await provider.status();
    if (minDecryptionVersion >= latestVersion) return { rewrapped: 0, retiredBelow: null };
    let rewrapped = 0;
    for (const holder of holders) {
      for (let n = await holder.rewrapBelow(latestVersion, batchSize); n > 0; n = await holder.rewrapBelow(latestVersion, batchSize)) {
        rewrapped += n;
      }
    }
    this.#log.info({ rewrapped, latestVersion }, 'data keys rewrapped');
    const retired = await holdingKeyVersions(this.#options.orms, async () => {
      if ((await this.pending(latestVersion)) > 0) return false; // written meanwhile: the next pass takes them
      await provider.retireBelow(latestVersion);
      return true;
    });
    if (retired) this.#log.info({ retiredBelow: latestVersion }, 'old key-encryption key versions retired');
    return { rewrapped, retiredBelow: retired ? latestVersion : null };
  }
}

/** Runs `work` while every database holds KEY_VERSION_LOCK exclusively (one transaction each, nested; always in the same order). */
function holdingKeyVersions<T>(orms: MikroORM[], work: () => Promise<T>): Promise<T> {
  const [first, ...rest] = orms;
  if (!first) return work();
  return first.em.fork().transactional(async (tx) => {
    await holdKeyVersionsExclusively(tx);
    return holdingKeyVersions(rest, work);
  });
}
