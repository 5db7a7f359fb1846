/**
 * The keys module: everything Fleetgate needs to keep data encrypted at rest, in one place.
 *
 * - the key-encryption key (KEK) providers: the {@link KeyProvider} contract, the local keyring file
 *   (`LocalKeyProvider`), HashiCorp Vault Transit (`VaultKeyProvider`) and `openKeyProvider`, which
 *   picks the configured one;
 * - KEK rotation (`KeyRotation`), the advisory lock that keeps retirement safe (`key-version-lock.ts`)
 *   and the wrapped-key holders rotation walks (`wrappedKeyTableHolder` for a table of wrapped keys,
 *   `countBelowWith` for the rest);
 * - `aead`, the single AES-256-GCM seal/open (nonce, tag, AAD, layouts) every sealed format uses;
 * - the credential envelope (`envelope.ts`): a fresh data key per value, sealed with `aead`.
 *
 * Why `src/keys/` and not `src/modules/keys/`: a module under `modules/` is a domain the API serves
 * (its entities, services, GraphQL schema). Keys are none of that: they are a floor below the domains,
 * like `db/`, which credentials, memory, sharing and enterprise backups all stand on. Here they import
 * only `db/`, `shared/` and the config type, never a module, so no module that uses them can close
 * an import cycle through them. Each domain declares its own holders (which tables, which SQL
 * functions) next to its tables, with the factories here: `credentialKeyHolder` in credentials,
 * `memoryKeyHolder`/`memoryEscrowHolder`/`sharingKeyHolder` in memory, `backupArchiveKeyHolder` in
 * enterprise.
 *
 * Others import from this face only.
 */
export * as aead from './aead.ts';
export { aadOf, EnvelopeIntegrityError, fingerprintOf, open, type SealBinding, type Sealed, seal } from './envelope.ts';
export {
  type KeyProvider,
  type KeyProviderStatus,
  KeyProviderUnavailableError,
  unconfiguredKeyProvider,
  type WrappedKeyHolder,
} from './key-provider.ts';
export { KeyRotation, type KeyRotationOptions } from './key-rotation.ts';
export { holdKeyVersions, holdKeyVersionsExclusively, KEY_VERSION_LOCK } from './key-version-lock.ts';
export { LocalKeyProvider } from './local-key-provider.ts';
export { type KeyProviderConfig, openKeyProvider } from './open-key-provider.ts';
export { VaultKeyProvider, type VaultKeyProviderOptions } from './vault-key-provider.ts';
export {
  countBelowWith,
  countTenantKeys,
  type DataKeyKind,
  type TenantKeyCount,
  type WrappedKeyTable,
  wrappedKeyTableHolder,
} from './wrapped-key-holders.ts';
