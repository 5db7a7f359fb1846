/**
 * A key-encryption key (KEK) held outside the database. Everything Fleetgate encrypts at rest
 * (agent credentials, agent memory, tenant backups) uses envelope encryption: a fresh 256-bit
 * data key per object encrypts the data with AES-256-GCM, and only the data key, wrapped by the
 * KEK, is stored beside it. The KEK never leaves the provider.
 *
 * Implementations: `local` (a versioned keyring file, mode 0600, outside the database directory;
 * the embedded default; local-key-provider.ts) and `vault` (HashiCorp Vault Transit over its HTTP
 * API; vault-key-provider.ts).
 *
 * Every method fails closed: an unreachable, sealed or denying provider, or a retired key
 * version, throws {@link KeyProviderUnavailableError}; there is never a plaintext fallback.
 */
export interface KeyProvider {
  readonly kind: 'local' | 'vault';
  /** A fresh 256-bit data key: its plaintext (use it, then `fill(0)`) and its wrapped form to store. */
  generateDataKey(): Promise<{ plaintext: Buffer; wrapped: string }>;
  /** The plaintext of a wrapped data key (use it, then `fill(0)`). */
  unwrapDataKey(wrapped: string): Promise<Buffer>;
  /** The same data key wrapped under the newest KEK version, without the caller seeing the plaintext. */
  rewrapDataKey(wrapped: string): Promise<string>;
  /** The KEK version a wrapped data key was made with (`vault:v3:…` → 3). */
  versionOf(wrapped: string): number;
  /** Creates a new KEK version and makes it the one new data keys are wrapped with; returns it. */
  rotate(): Promise<number>;
  /** Retires versions below `version`: data keys wrapped by them no longer unwrap. */
  retireBelow(version: number): Promise<void>;
  /** The newest version (new data keys use it) and the oldest that still unwraps. */
  status(): Promise<KeyProviderStatus>;
}

export interface KeyProviderStatus {
  latestVersion: number;
  minDecryptionVersion: number;
}

/**
 * Something that stores data keys wrapped by the provider (agent credentials; agent memory and
 * backups add theirs). KEK rotation rewraps every holder's keys and retires an old version only
 * when no holder has a key below it any more, so one module's rotation never strands another's data.
 */
export interface WrappedKeyHolder {
  readonly name: string;
  /** How many stored data keys are wrapped under a version below `version`. */
  countBelow(version: number): Promise<number>;
  /** Rewraps up to `limit` of those keys to the newest version; returns how many it rewrapped. */
  rewrapBelow(version: number, limit: number): Promise<number>;
}

/** The key provider could not be used (down, sealed, denied, retired version). Never carries key material. */
export class KeyProviderUnavailableError extends Error {
  constructor(
    readonly provider: KeyProvider['kind'],
    reason: string,
  ) {
    super(`key provider ${provider} unavailable: ${reason}`);
    this.name = 'KeyProviderUnavailableError';
  }
}

/** Where no provider is configured (tools, some tests): every call fails closed; agents without credentials still start. */
export function unconfiguredKeyProvider(): KeyProvider {
  const refuse = (): never => {
    throw new KeyProviderUnavailableError('local', 'no key provider is configured');
  };
  return {
    kind: 'local',
    generateDataKey: async () => refuse(),
    unwrapDataKey: async () => refuse(),
    rewrapDataKey: async () => refuse(),
    versionOf: () => refuse(),
    rotate: async () => refuse(),
    retireBelow: async () => refuse(),
    status: async () => refuse(),
  };
}
