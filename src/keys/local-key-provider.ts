import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../shared/logger.ts';
import * as aead from './aead.ts';
import { type KeyProvider, type KeyProviderStatus, KeyProviderUnavailableError } from './key-provider.ts';

/** kek.json: every live KEK version; versions below minDecryptionVersion are destroyed, not kept. */
interface KekFile {
  format: 1;
  latestVersion: number;
  minDecryptionVersion: number;
  keys: Record<string, { key: string; createdAt: string }>;
}

const PREFIX = /^local:v(\d+):([A-Za-z0-9+/=]+)$/;

/**
 * The embedded default: key-encryption keys in `<keyring dir>/kek.json` (the same 0700 directory as
 * the token keyring, outside the database directory), created with mode 0600 on first open. A data
 * key is wrapped with AES-256-GCM under the newest KEK, as `local:v<N>:<base64 nonce|ciphertext|tag>`
 * with the version as AAD. Rotation adds a version; retiring destroys the key material of older ones.
 * Every change replaces the file atomically (write a temporary file, fsync, rename), so a crash
 * leaves the old keyring or the new one. One process owns the file; another that finds an unknown
 * version re-reads it once.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local';
  readonly #path: string;
  readonly #log: Logger;
  #file: KekFile;
  /** Serialises rotate and retire inside this process. */
  #changes: Promise<unknown> = Promise.resolve();

  private constructor(path: string, file: KekFile, log: Logger) {
    this.#path = path;
    this.#file = file;
    this.#log = log;
  }

  static async open(keyringDir: string, log: Logger): Promise<LocalKeyProvider> {
    const path = join(keyringDir, 'kek.json');
    await mkdir(keyringDir, { recursive: true, mode: 0o700 });
    let file = await readKekFile(path);
    if (!file) {
      file = { format: 1, latestVersion: 1, minDecryptionVersion: 1, keys: { 1: newKek() } };
      try {
        await writeAtomically(path, file, 'wx');
        log.info({ path, version: 1 }, 'created the local key-encryption keyring');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        file = (await readKekFile(path)) ?? file; // another process created it first
      }
    }
    return new LocalKeyProvider(path, file, log.child({ component: 'key-provider', provider: 'local' }));
  }

  async generateDataKey(): Promise<{ plaintext: Buffer; wrapped: string }> {
    const plaintext = randomBytes(32);
    return { plaintext, wrapped: this.#wrap(plaintext) };
  }

  async unwrapDataKey(wrapped: string): Promise<Buffer> {
    const match = PREFIX.exec(wrapped);
    if (!match) throw this.#unavailable('wrapped key is malformed');
    const version = Number(match[1]);
    if (version > this.#file.latestVersion) await this.#reload();
    if (version < this.#file.minDecryptionVersion) throw this.#unavailable(`key version ${version} is retired`);
    const kek = this.#kek(version);
    const raw = Buffer.from(match[2] ?? '', 'base64');
    try {
      return aead.open(kek, raw, kekAad(version), 'nonce|ciphertext|tag');
    } catch {
      throw this.#unavailable('wrapped key failed its integrity check');
    } finally {
      kek.fill(0);
    }
  }

  async rewrapDataKey(wrapped: string): Promise<string> {
    const plaintext = await this.unwrapDataKey(wrapped);
    try {
      return this.#wrap(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  versionOf(wrapped: string): number {
    const match = PREFIX.exec(wrapped);
    if (!match) throw this.#unavailable('wrapped key is malformed');
    return Number(match[1]);
  }

  rotate(): Promise<number> {
    return this.#change(() => {
      const version = this.#file.latestVersion + 1;
      return { next: { ...this.#file, latestVersion: version, keys: { ...this.#file.keys, [version]: newKek() } }, result: version };
    });
  }

  retireBelow(version: number): Promise<void> {
    return this.#change(() => {
      if (version > this.#file.latestVersion) throw this.#unavailable('cannot retire the newest key version');
      const keys = Object.fromEntries(Object.entries(this.#file.keys).filter(([v]) => Number(v) >= version));
      return { next: { ...this.#file, minDecryptionVersion: Math.max(version, this.#file.minDecryptionVersion), keys }, result: undefined };
    });
  }

  async status(): Promise<KeyProviderStatus> {
    return { latestVersion: this.#file.latestVersion, minDecryptionVersion: this.#file.minDecryptionVersion };
  }

  #wrap(plaintext: Buffer): string {
    const version = this.#file.latestVersion;
    const kek = this.#kek(version);
    try {
      return `local:v${version}:${aead.seal(kek, plaintext, kekAad(version), 'nonce|ciphertext|tag').toString('base64')}`;
    } finally {
      kek.fill(0);
    }
  }

  #kek(version: number): Buffer {
    const entry = this.#file.keys[String(version)];
    if (!entry) throw this.#unavailable(`key version ${version} is unknown`);
    return Buffer.from(entry.key, 'base64');
  }

  async #reload(): Promise<void> {
    this.#file = (await readKekFile(this.#path)) ?? this.#file;
  }

  #change<T>(compute: () => { next: KekFile; result: T }): Promise<T> {
    const run = this.#changes.then(async () => {
      await this.#reload();
      const { next, result } = compute();
      await writeAtomically(this.#path, next, 'w');
      this.#file = next;
      this.#log.info(
        { latestVersion: next.latestVersion, minDecryptionVersion: next.minDecryptionVersion },
        'key-encryption keyring changed',
      );
      return result;
    });
    this.#changes = run.catch(() => undefined);
    return run;
  }

  #unavailable(reason: string): KeyProviderUnavailableError {
    return new KeyProviderUnavailableError('local', reason);
  }
}

/** The version a data key is wrapped under is bound in: a wrapped key relabelled as another version does not unwrap. */
function kekAad(version: number): Buffer {
  return Buffer.from(`fleetgate.kek:v${version}`);
}

function newKek(): { key: string; createdAt: string } {
  return { key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() };
}

async function readKekFile(path: string): Promise<KekFile | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as KekFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyProviderUnavailableError('local', `keyring ${path} is unreadable`);
  }
}

/**
 * Write a 0600 temporary file, fsync, then put it in place atomically: `rename` replaces, `link`
 * creates only if absent (first start, two processes racing). Then fsync the directory.
 */
async function writeAtomically(path: string, file: KekFile, flag: 'w' | 'wx'): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(file));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, 0o600);
  try {
    if (flag === 'wx') await link(temporary, path);
    else await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
