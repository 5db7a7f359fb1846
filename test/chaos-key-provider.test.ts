import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import { KeyProviderUnavailableError } from '../src/keys/key-provider.ts';
import { VaultKeyProvider } from '../src/keys/vault-key-provider.ts';
import { openAgentCredentials } from '../src/modules/credentials/credential.service.ts';
import { createLogger } from '../src/shared/logger.ts';
import { Secret } from '../src/shared/secret.ts';
import { uuidOf } from './support/audit.ts';
import { CredentialKeyStatus, RotateCredentialKey, SetCredential } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';
import { waitUntil } from './support/wait.ts';

const VAULT_TOKEN = `hvs.${Math.random().toString(36).slice(2)}-chaos`;
const CREDENTIALS_PER_AGENT = 8;

/**
 * Chaos: the key provider (Vault Transit) goes down in the middle of the background rewrap that
 * follows a KEK rotation, and comes back. Nothing lost: every data key stays wrapped under a version
 * Vault still decrypts (no retirement while any is left behind), every credential reads back its
 * value; the rewrap resumes by itself once Vault answers, then the old version is retired. Nothing
 * leaked: no value in any log line, and operations needing the provider fail closed meanwhile.
 */
describe('chaos: the key provider down mid-rotation', () => {
  let vault: TransitServer;
  let gw: Gateway;
  /** tenant uuid → agent uuid → credential name → value */
  const expected = new Map<string, Map<string, Map<string, string>>>();
  let operator: string;
  let owner: string;
  let someAgent: string;

  beforeAll(async () => {
    vault = await startTransitServer({ token: VAULT_TOKEN });
    const keyProvider = new VaultKeyProvider({
      address: vault.address,
      token: new Secret(VAULT_TOKEN),
      key: 'fleetgate',
      log: createLogger({ level: 'silent' }),
      timeoutMs: 2_000,
    });
    // The periodic pass is what resumes the rotation: nobody pokes it after Vault is back.
    gw = await startGateway({ keyProvider, keyRewrapIntervalMs: 300 });
    operator = await gw.operator.token();
    for (let t = 0; t < 2; t++) {
      const tenant = await gw.seed.tenant();
      owner = tenant.ownerToken;
      const agents = new Map<string, Map<string, string>>();
      expected.set(uuidOf(tenant.id), agents);
      for (let a = 0; a < 2; a++) {
        const agentId = (await tenant.agent()).id;
        someAgent = agentId;
        const values = new Map<string, string>();
        agents.set(uuidOf(agentId), values);
        for (let c = 0; c < CREDENTIALS_PER_AGENT; c++) {
          const value = `canary-chaos-kek-${t}-${a}-${c}-${Math.random().toString(36).slice(2)}`;
          expectNoErrors(await gw.execute(SetCredential, { agentId, name: `KEY_${c}`, value }, { token: tenant.ownerToken }));
          values.set(`KEY_${c}`, value);
        }
      }
    }
  }, 90_000);
  afterAll(async () => {
    await gw?.close();
    await vault?.close();
  });

  async function versions(): Promise<Record<number, number>> {
    const { rows } = await adminQuery<{ key_version: number; n: number }>(
      gw.database.adminUrl,
      'select key_version, count(*)::int as n from agent_credentials group by 1',
    );
    return Object.fromEntries(rows.map((row) => [row.key_version, row.n]));
  }

  test('no data key lost while Vault is down, the rewrap resumes by itself when it is back, then the old version retires', async () => {
    const total = 2 * 2 * CREDENTIALS_PER_AGENT;
    const { rows: before } = await adminQuery<{ wrapped_key: string }>(
      gw.database.adminUrl,
      'select wrapped_key from agent_credentials limit 1',
    );
    const oldWrapped = before[0]?.wrapped_key ?? '';

    // Vault drops every connection from the sixth rewrap on: the pass stops part way.
    let rewraps = 0;
    vault.state.onRequest = (path) => {
      if (path.endsWith('/rewrap/fleetgate') && ++rewraps === 6) vault.state.down = true;
    };
    expect(expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operator })).rotateCredentialKey).toBe(2);
    // Two failed passes at least: the periodic retries meet the outage too and change nothing.
    await waitUntil(() => (gw.logs().match(/rewrap pass failed; will retry/g)?.length ?? 0) >= 2, 20_000, 'failed rewrap passes');

    const partway = await versions();
    expect(partway[1] ?? 0).toBeGreaterThan(0);
    expect(partway[2]).toBe(5);
    expect((partway[1] ?? 0) + (partway[2] ?? 0)).toBe(total); // every row still holds a wrapped key
    expect(vault.key()?.minDecryption).toBe(1); // nothing retired while keys are left under version 1
    // Meanwhile a credential write fails closed, coded, naming no secret.
    const refused = await gw.execute(SetCredential, { agentId: someAgent, name: 'DURING', value: 'canary-chaos-during' }, { token: owner });
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);

    vault.state.down = false;
    const done = await waitUntil(
      async () => {
        const status = (await gw.execute(CredentialKeyStatus, {}, { token: operator })).data?.credentialKeyStatus;
        return status?.pendingRewrap === 0 && status.minDecryptionVersion === 2 ? status : undefined;
      },
      30_000,
      'the rewrap to finish and retire version 1',
    );
    expect(done).toEqual({ provider: 'vault', latestVersion: 2, minDecryptionVersion: 2, pendingRewrap: 0 });
    expect(await versions()).toEqual({ 2: total });

    // Nothing lost: every credential decrypts to its value, as an agent start reads it.
    let matched = 0;
    for (const [tenantId, agents] of expected) {
      for (const [agentId, values] of agents) {
        const opened = await openAgentCredentials(forkForTenant(gw.orm, tenantId), gw.keyProvider, { tenantId, agentId });
        expect(new Map(opened.map(({ name, value }) => [name, value.toString('utf8')]))).toEqual(values);
        matched += opened.length;
      }
    }
    expect(matched).toBe(total);
    await expect(gw.keyProvider.unwrapDataKey(oldWrapped)).rejects.toBeInstanceOf(KeyProviderUnavailableError);
    // Nothing leaked.
    const logs = gw.logs();
    expect(logs).not.toContain(VAULT_TOKEN);
    expect(logs).not.toContain('canary-chaos-during');
    for (const agents of expected.values())
      for (const values of agents.values()) for (const value of values.values()) expect(logs).not.toContain(value);
  }, 60_000);
});
