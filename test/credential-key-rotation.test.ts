import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import {
  holdKeyVersions,
  KEY_VERSION_LOCK,
  type KeyProvider,
  KeyProviderUnavailableError,
  KeyRotation,
  seal,
  VaultKeyProvider,
} from '../src/keys/index.ts';
import { AgentCredential } from '../src/modules/credentials/credential.entity.ts';
import { openAgentCredentials } from '../src/modules/credentials/credential.service.ts';
import { credentialKeyHolder } from '../src/modules/credentials/credential-keys.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { newId } from '../src/shared/ids.ts';
import { createLogger } from '../src/shared/logger.ts';
import { Secret } from '../src/shared/secret.ts';
import {
  CredentialKeyStatus,
  RotateCredential,
  RotateCredentialKey,
  SetCredential,
  TenantKeyStatus,
} from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';

// Many restarts and full rewraps: slow on a loaded machine, so a generous per-test budget.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/**
 * KEK rotation by operators: a new version at once, a background rewrap of every data key under
 * concurrent reads and writes, then retirement of the old versions. Run against both providers.
 */
const VAULT_TOKEN = `hvs.${Math.random().toString(36).slice(2)}-rotation`;
let vault: TransitServer | undefined;
afterAll(() => vault?.close());

describe.each([
  ['local', async (): Promise<KeyProvider | undefined> => undefined],
  [
    'vault',
    async (): Promise<KeyProvider | undefined> => {
      vault = await startTransitServer({ token: VAULT_TOKEN });
      return new VaultKeyProvider({
        address: vault.address,
        token: new Secret(VAULT_TOKEN),
        key: 'fleetgate',
        log: createLogger({ level: 'silent' }),
      });
    },
  ],
])('KEK rotation with the %s provider', (_kind, makeProvider) => {
  let gw: Gateway;
  /** tenant id → agent id → name → value */
  const expected = new Map<string, Map<string, Map<string, string>>>();
  let operator: string;
  const tenants: Awaited<ReturnType<Gateway['seed']['tenant']>>[] = [];

  beforeAll(async () => {
    gw = await startGateway({ keyProvider: await makeProvider() });
    operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    for (let t = 0; t < 2; t++) {
      const tenant = await gw.seed.tenant();
      tenants.push(tenant);
      const agents = new Map<string, Map<string, string>>();
      expected.set(decodeGlobalId(tenant.id).id, agents);
      for (let a = 0; a < 3; a++) {
        const agentId = (await tenant.agent()).id;
        const values = new Map<string, string>();
        agents.set(decodeGlobalId(agentId).id, values);
        for (let c = 0; c < 8; c++) {
          const value = `canary-rotation-${t}-${a}-${c}-${Math.random().toString(36).slice(2)}`;
          expectNoErrors(await gw.execute(SetCredential, { agentId, name: `KEY_${c}`, value }, { token: tenant.ownerToken }));
          values.set(`KEY_${c}`, value);
        }
      }
    }
  });
  afterAll(() => gw?.close());

  /** While values are being rotated, a read may see any value written so far for KEY_0 (agent id → values). */
  const changing = new Map<string, Set<string>>();

  /** Every agent's credentials, decrypted as an agent start does; returns how many matched. */
  async function readAll(): Promise<number> {
    let matched = 0;
    for (const [tenantId, agents] of expected) {
      for (const [agentId, values] of agents) {
        const opened = await openAgentCredentials(forkForTenant(gw.orm, tenantId), gw.keyProvider, { tenantId, agentId });
        for (const { name, value } of opened) {
          const want = values.get(name);
          const got = value.toString('utf8');
          const acceptable = got === want || (name === 'KEY_0' && changing.get(agentId)?.has(got));
          if (want === undefined || !acceptable) throw new Error(`credential ${name} of ${agentId} read back wrong`);
          matched++;
        }
        if (opened.length !== values.size) throw new Error(`agent ${agentId} has ${opened.length} credentials, expected ${values.size}`);
      }
    }
    return matched;
  }

  test('only operators rotate the KEK', async () => {
    const [tenant] = tenants;
    expect(errorCodes(await gw.execute(RotateCredentialKey, {}, { token: tenant?.ownerToken }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(CredentialKeyStatus, {}, { token: tenant?.ownerToken }))).toEqual(['FORBIDDEN']);
  });

  test('rotation under concurrent reads and writes loses nothing; afterwards old versions no longer decrypt', async () => {
    await gw.fleetgate.keyRotation.idle();
    const { rows: before } = await adminQuery<{ wrapped_key: string }>(
      gw.database.adminUrl,
      'select wrapped_key from agent_credentials limit 1',
    );
    const oldWrapped = before[0]?.wrapped_key ?? '';
    expect(gw.keyProvider.versionOf(oldWrapped)).toBe(1);
    expect(await readAll()).toBe(48);

    let stop = false;
    let reads = 0;
    const readers = Array.from({ length: 3 }, async () => {
      while (!stop) {
        await readAll();
        reads++;
      }
    });
    // Writers: rotate values while the rewrap runs; each new value must survive too.
    const [tenant] = tenants;
    const tenantId = decodeGlobalId(tenant?.id ?? '').id;
    const writer = (async () => {
      for (let i = 0; !stop && i < 10; i++) {
        const [agentId, values] = [...(expected.get(tenantId) ?? new Map())][i % 3] as [string, Map<string, string>];
        const value = `canary-rotated-${i}-${Math.random().toString(36).slice(2)}`;
        changing.set(agentId, new Set([...(changing.get(agentId) ?? []), values.get('KEY_0') ?? '', value]));
        const response = await gw.execute(
          RotateCredential,
          { agentId: encodeGlobalId('Agent', agentId), name: 'KEY_0', value },
          { token: tenant?.ownerToken },
        );
        if (response.errors) throw new Error(JSON.stringify(response.errors));
        values.set('KEY_0', value);
      }
    })();

    const rotated = expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operator }));
    expect(rotated.rotateCredentialKey).toBe(2);
    await writer;
    await gw.fleetgate.keyRotation.idle();
    await gw.fleetgate.keyRotation.poke(); // one more pass picks up anything written during the first
    stop = true;
    await Promise.all(readers);
    changing.clear(); // from here on every value must be exactly the last one written
    expect(reads).toBeGreaterThan(0);

    const status = expectNoErrors(await gw.execute(CredentialKeyStatus, {}, { token: operator })).credentialKeyStatus;
    expect(status).toEqual({ provider: _kind, latestVersion: 2, minDecryptionVersion: 2, pendingRewrap: 0 });
    // Members see the provider and versions, nothing about anyone's data keys (the console's isolation panel).
    const viewer = await tenants[0]?.member('VIEWER');
    const seen = expectNoErrors(await gw.execute(TenantKeyStatus, {}, { token: viewer?.token })).tenantKeyStatus;
    expect(seen).toEqual({ provider: _kind, latestVersion: 2, minDecryptionVersion: 2 });
    const { rows } = await adminQuery<{ key_version: number; n: number }>(
      gw.database.adminUrl,
      'select key_version, count(*)::int as n from agent_credentials group by 1',
    );
    expect(rows).toEqual([{ key_version: 2, n: 48 }]);
    expect(await readAll()).toBe(48);
    await expect(gw.keyProvider.unwrapDataKey(oldWrapped)).rejects.toBeInstanceOf(KeyProviderUnavailableError);
    for (const agents of expected.values())
      for (const values of agents.values()) for (const value of values.values()) expect(gw.logs()).not.toContain(value);
  });

  test('a value sealed under the old version but committed after the rewrap listed its rows holds the retirement back', async () => {
    const [tenant] = tenants;
    const tenantId = decodeGlobalId(tenant?.id ?? '').id;
    const agentId = [...(expected.get(tenantId)?.keys() ?? [])][0] ?? '';
    const value = `canary-late-${Math.random().toString(36).slice(2)}`;
    const rotation = new KeyRotation({
      orms: [gw.orm],
      provider: gw.keyProvider,
      log: gw.log,
      holders: [credentialKeyHolder(gw.orm, gw.keyProvider)],
    });
    let pass: Promise<{ rewrapped: number; retiredBelow: number | null }> | undefined;
    const id = newId();
    await forkForTenant(gw.orm, tenantId).transactional(async (tx) => {
      await holdKeyVersions(tx);
      const sealed = await seal(gw.keyProvider, { tenantId, agentId, credentialId: id, version: 1 }, Buffer.from(value));
      expect(sealed.keyVersion).toBe(2);
      expect(await gw.keyProvider.rotate()).toBe(3); // the operator rotates while this write is in flight
      pass = rotation.runOnce();
      // The pass has listed and rewrapped what it could see, and its retirement now waits on this transaction.
      await waitFor(
        async () =>
          (
            await adminQuery<{ n: number }>(
              gw.database.adminUrl,
              "select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = $1 and not granted and database = (select oid from pg_database where datname = current_database())",
              [KEY_VERSION_LOCK],
            )
          ).rows[0]?.n,
        (n) => n === 1,
      );
      tx.create(AgentCredential, { id, tenantId, agentId, name: 'LATE', version: 1, ...sealed });
    });
    expected.get(tenantId)?.get(agentId)?.set('LATE', value);
    expect(await pass).toMatchObject({ retiredBelow: null }); // it saw the late row and kept version 2
    expect(await rotation.runOnce()).toMatchObject({ rewrapped: 1, retiredBelow: 3 });
    expect(await readAll()).toBe(49);
  });

  test('the rewrap is durable: another replica (a fresh KeyRotation) finishes what was left', async () => {
    expect(await gw.keyProvider.rotate()).toBe(4); // rotated, then the process "died" before rewrapping
    const replica = new KeyRotation({
      orms: [gw.orm],
      provider: gw.keyProvider,
      log: gw.log,
      holders: [credentialKeyHolder(gw.orm, gw.keyProvider)],
      batchSize: 7,
    });
    expect(await replica.pending(4)).toBe(49);
    expect(await replica.runOnce()).toEqual({ rewrapped: 49, retiredBelow: 4 });
    expect(await replica.runOnce()).toEqual({ rewrapped: 0, retiredBelow: null });
    expect(await readAll()).toBe(49);
  });
});
