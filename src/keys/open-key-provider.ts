import { access, constants } from 'node:fs/promises';
import type { Logger } from '../shared/logger.ts';
import type { Secret } from '../shared/secret.ts';
import type { KeyProvider } from './key-provider.ts';
import { LocalKeyProvider } from './local-key-provider.ts';
import type { VaultAuthMethod } from './vault-auth.ts';
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
  VAULT_AUTH: 'token' | 'approle' | 'kubernetes';
  VAULT_TOKEN?: Secret;
  VAULT_ROLE_ID?: string;
  VAULT_SECRET_ID?: Secret;
  VAULT_SECRET_ID_FILE?: string;
  VAULT_APPROLE_MOUNT: string;
  VAULT_K8S_ROLE?: string;
  VAULT_K8S_JWT_FILE: string;
  VAULT_K8S_MOUNT: string;
  VAULT_NAMESPACE?: string;
  VAULT_TRANSIT_MOUNT: string;
  VAULT_TRANSIT_KEY: string;
}

/**
 * The configured key provider. Vault's Transit engine is not called here: a Vault that is down at
 * start only makes credential operations and starts of agents with credentials fail closed until it
 * answers. With AppRole or Kubernetes auth the first login starts here in the background (`/readyz`
 * stays unready until it succeeds); the credential files must be readable now, so a wrong path stops
 * the start with its name.
 */
export async function openKeyProvider(config: KeyProviderConfig, log: Logger): Promise<KeyProvider> {
  if (config.KEY_PROVIDER === 'local') return LocalKeyProvider.open(config.keyringDir, log);
  if (!config.VAULT_ADDR) throw new Error('KEY_PROVIDER=vault needs VAULT_ADDR');
  const provider = new VaultKeyProvider({
    address: config.VAULT_ADDR,
    auth: await vaultAuthOf(config),
    namespace: config.VAULT_NAMESPACE,
    mount: config.VAULT_TRANSIT_MOUNT,
    key: config.VAULT_TRANSIT_KEY,
    log,
  });
  return provider.start();
}

async function vaultAuthOf(config: KeyProviderConfig): Promise<VaultAuthMethod> {
  const readable = async (variable: string, path: string) => {
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new Error(`${variable}: ${path} is not readable`);
    }
  };
  if (config.VAULT_AUTH === 'approle') {
    if (!config.VAULT_ROLE_ID) throw new Error('VAULT_AUTH=approle needs VAULT_ROLE_ID');
    if (config.VAULT_SECRET_ID_FILE) await readable('VAULT_SECRET_ID_FILE', config.VAULT_SECRET_ID_FILE);
    const secretId = config.VAULT_SECRET_ID ?? (config.VAULT_SECRET_ID_FILE ? { file: config.VAULT_SECRET_ID_FILE } : undefined);
    if (!secretId) throw new Error('VAULT_AUTH=approle needs VAULT_SECRET_ID or VAULT_SECRET_ID_FILE');
    return { kind: 'approle', mount: config.VAULT_APPROLE_MOUNT, roleId: config.VAULT_ROLE_ID, secretId };
  }
  if (config.VAULT_AUTH === 'kubernetes') {
    if (!config.VAULT_K8S_ROLE) throw new Error('VAULT_AUTH=kubernetes needs VAULT_K8S_ROLE');
    await readable('VAULT_K8S_JWT_FILE', config.VAULT_K8S_JWT_FILE);
    return { kind: 'kubernetes', mount: config.VAULT_K8S_MOUNT, role: config.VAULT_K8S_ROLE, jwtFile: config.VAULT_K8S_JWT_FILE };
  }
  if (!config.VAULT_TOKEN) throw new Error('VAULT_AUTH=token needs VAULT_TOKEN');
  return { kind: 'token', token: config.VAULT_TOKEN };
}
