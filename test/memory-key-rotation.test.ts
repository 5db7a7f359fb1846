import { afterAll, beforeAll, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { GetMemory, PutMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { CredentialKeyStatus, RotateCredentialKey } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

// Regression: KEK rotation retired old versions while agent memory's data keys (and an enterprise
// tenant's, in its own schema) were still wrapped under them: that memory would have become unreadable.
let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

test('a KEK rotation rewraps agent memory keys before retiring the old version; memory stays readable', async () => {
  const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  const acme = await gw.seed.tenant();
  // An enterprise tenant's keys live in its own schema: the rewrap must find them there too.
  const bank = await gw.seed.tenant('bank', { enterpriseBy: operator });
  const agents = [await agentWithToken(gw, acme), await agentWithToken(gw, bank)];
  for (const [i, agent] of agents.entries()) {
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: `"before-${i}"` } }, { token: agent.token }));
  }
  const ids = agents.map((agent) => agent.id);
  const versions = () =>
    adminQuery<{ key_version: number }>(
      gw.database.adminUrl,
      `select wrapped_key_version(wrapped_key) as key_version from agent_memory_keys where agent_id = any($1)
       union all select wrapped_key_version(wrapped_key) from ${tenantSchemaName(agents[1]?.tenantId ?? '')}.agent_memory_keys where agent_id = any($1)`,
      [ids],
    );
  expect((await versions()).rows).toEqual([{ key_version: 1 }, { key_version: 1 }]);

  expect(expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operator })).rotateCredentialKey).toBe(2);
  await gw.fleetgate.keyRotation.idle();
  await gw.fleetgate.keyRotation.poke();

  const status = expectNoErrors(await gw.execute(CredentialKeyStatus, {}, { token: operator })).credentialKeyStatus;
  expect(status).toMatchObject({ latestVersion: 2, minDecryptionVersion: 2, pendingRewrap: 0 });
  expect((await versions()).rows).toEqual([{ key_version: 2 }, { key_version: 2 }]);
  for (const [i, agent] of agents.entries()) {
    const got = expectNoErrors(await gw.execute(GetMemory, { key: 'k' }, { token: agent.token }));
    expect(got.memoryEntry?.value).toBe(`"before-${i}"`);
  }
});
