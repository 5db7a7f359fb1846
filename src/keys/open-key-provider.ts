import type { Logger } from '../shared/logger.ts';
import type { Secret } from '../shared/secret.ts';
import type { KeyProvider } from './key-provider.ts';
import { LocalKeyProvider } from './local-key-provider.ts';
import { VaultKeyProvider } from './vault-key-provider.ts';

/**
 * What the opener reads of the gateway's config (src/config.ts validates it; `Config` fits this
 * shape). Declared here so the keys module depends on no higher floor.
 */
export interface KeyProviderConfig {
  KEY_PROVIDER: 'local' | 'vault';
  /** The local provider's directory (its `kek.json`). */
  keyringDir: string;
  VAULT_ADDR?: string;
  VAULT_TOKEN?: Secret;
  VAULT_NAMESPACE?: string;
  VAULT_TRANSIT_MOUNT: string;
  VAULT_TRANSIT_KEY: string;
}

/**
 * The configured key provider. Vault is not called here: a Vault that is down at start only makes
 * credential operations and starts of agents with credentials fail closed until it answers.
 */
export async function openKeyProvider(config: KeyProviderConfig, log: Logger): Promise<KeyProvider> {
  if (config.KEY_PROVIDER === 'local') return LocalKeyProvider.open(config.keyringDir, log);
  if (!config.VAULT_ADDR || !config.VAULT_TOKEN) throw new Error('KEY_PROVIDER=vault needs VAULT_ADDR and VAULT_TOKEN');
  return new VaultKeyProvider({
    address: config.VAULT_ADDR,
    token: config.VAULT_TOKEN,
    namespace: config.VAULT_NAMESPACE,
    mount: config.VAULT_TRANSIT_MOUNT,
    key: config.VAULT_TRANSIT_KEY,
    log,
  });
}
