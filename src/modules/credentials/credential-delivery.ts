import type { KeyProvider } from '../../keys/index.ts';
import { Secret } from '../../shared/secret.ts';
import { parseEgressRule, placeholderOf } from '../egress/index.ts';
import { openAgentCredentials } from './credential.service.ts';
import type { StartSecretSource } from './start-secrets.ts';

/**
 * The agent's credentials, decrypted for this start only. A credential bound to egress hosts comes
 * with its swap: the provisioner hands the process the placeholder and the value to the proxy alone.
 */
export function credentialStartSecrets(provider: KeyProvider): StartSecretSource {
  return async (em, agent) => {
    const opened = await openAgentCredentials(em, provider, agent);
    return opened.map(({ id, name, value, egressHosts }) => {
      const secret = new Secret(value.toString('utf8'));
      value.fill(0);
      if (egressHosts.length === 0) return { name, value: secret };
      return { name, value: secret, swap: { placeholder: placeholderOf(id), hosts: egressHosts.map(parseEgressRule) } };
    });
  };
}
