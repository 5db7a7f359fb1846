import type { KeyProvider } from '../../keys/index.ts';
import { Secret } from '../../shared/secret.ts';
import { openAgentCredentials } from './credential.service.ts';
import type { StartSecretSource } from './start-secrets.ts';

/** The agent's credentials, decrypted for this start only. */
export function credentialStartSecrets(provider: KeyProvider): StartSecretSource {
  return async (em, agent) => {
    const opened = await openAgentCredentials(em, provider, agent);
    return opened.map(({ name, value }) => {
      const secret = new Secret(value.toString('utf8'));
      value.fill(0);
      return { name, value: secret };
    });
  };
}
