import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { GetMemory, PutMemory, SendHandoff } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

// Regression: tenants.memory_max_value_bytes existed (operators only, migrations/0007) but no
// operation could set it.

const SetMemoryValueLimit = graphql(`
  mutation SetMemoryValueLimit($id: ID!, $maxValueBytes: Int!) {
    setMemoryValueLimit(id: $id, maxValueBytes: $maxValueBytes) { id memoryMaxValueBytes }
  }
`);

const TenantMemoryLimit = graphql(`
  query TenantMemoryLimit {
    tenant { memoryMaxValueBytes }
  }
`);

let gw: Gateway;
let operator: string;
beforeAll(async () => {
  gw = await startGateway();
  operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
});
afterAll(() => gw?.close());

const jsonOfBytes = (bytes: number) => JSON.stringify('x'.repeat(bytes - 2)); // a JSON string of exactly `bytes` bytes

test('operators lower the limit: an oversized value gets a clear error, nothing stored is lost, other tenants keep theirs', async () => {
  const acme = await gw.seed.tenant();
  const other = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const sibling = await agentWithToken(gw, acme);
  const neighbour = await agentWithToken(gw, other);
  const stored = jsonOfBytes(1000);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'big', value: stored } }, { token: agent.token }));

  const { setMemoryValueLimit } = expectNoErrors(
    await gw.execute(SetMemoryValueLimit, { id: acme.id, maxValueBytes: 100 }, { token: operator }),
  );
  expect(setMemoryValueLimit).toEqual({ id: acme.id, memoryMaxValueBytes: 100 });
  expect(expectNoErrors(await gw.execute(TenantMemoryLimit, {}, { token: acme.ownerToken })).tenant).toEqual({ memoryMaxValueBytes: 100 });
  expect(expectNoErrors(await gw.execute(TenantMemoryLimit, {}, { token: other.ownerToken })).tenant).toEqual({
    memoryMaxValueBytes: 65536,
  });

  const refused = await gw.execute(PutMemory, { input: { key: 'big', value: jsonOfBytes(101) } }, { token: agent.token });
  expect(refused.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
    ['BAD_USER_INPUT', 'value is too large: 101 bytes, this tenant allows at most 100 bytes per entry'],
  ]);
  // The refused write changed nothing: the entry stored under the old limit is intact and readable.
  expect(expectNoErrors(await gw.execute(GetMemory, { key: 'big' }, { token: agent.token })).memoryEntry?.value).toBe(stored);
  const rows = await adminQuery(gw.database.adminUrl, 'select key, size_bytes from agent_memory where agent_id = $1', [agent.id]);
  expect(rows.rows).toEqual([{ key: 'big', size_bytes: 1000 }]);
  // At the limit is fine; handoff payloads follow the same limit; the neighbour tenant keeps 64 KiB.
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'fits', value: jsonOfBytes(100) } }, { token: agent.token }));
  expect(
    errorCodes(
      await gw.execute(SendHandoff, { input: { toAgentId: sibling.globalId, payload: jsonOfBytes(101) } }, { token: agent.token }),
    ),
  ).toEqual(['BAD_USER_INPUT']);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'big', value: jsonOfBytes(5000) } }, { token: neighbour.token }));

  const audit = await adminQuery(
    gw.database.adminUrl,
    "select actor_type, detail from audit_events where action = 'memory.valueLimit.set' and tenant_id = $1",
    [agent.tenantId],
  );
  expect(audit.rows).toEqual([{ actor_type: 'OPERATOR', detail: { maxValueBytes: 100, previous: 65536 } }]);

  // Raised again, the larger value is accepted.
  expectNoErrors(await gw.execute(SetMemoryValueLimit, { id: acme.id, maxValueBytes: 2048 }, { token: operator }));
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'big', value: jsonOfBytes(2048) } }, { token: agent.token }));
});

test('bad limits are a clear BAD_USER_INPUT and change nothing', async () => {
  const acme = await gw.seed.tenant();
  for (const [maxValueBytes, message] of [
    [0, 'Invalid maxValueBytes: must be at least 1 byte'],
    [-5, 'Invalid maxValueBytes: must be at least 1 byte'],
    [1_048_577, 'Invalid maxValueBytes: must be at most 1048576 bytes (1 MiB)'],
  ] as const) {
    const response = await gw.execute(SetMemoryValueLimit, { id: acme.id, maxValueBytes }, { token: operator });
    expect(response.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['BAD_USER_INPUT', message]]);
  }
  const missing = await gw.execute(
    SetMemoryValueLimit,
    { id: encodeGlobalId('Tenant', randomUUID()), maxValueBytes: 10 },
    { token: operator },
  );
  expect(errorCodes(missing)).toEqual(['NOT_FOUND']);
  const { rows } = await adminQuery(gw.database.adminUrl, 'select memory_max_value_bytes from tenants where id = $1', [
    decodeGlobalId(acme.id).id,
  ]);
  expect(rows).toEqual([{ memory_max_value_bytes: 65536 }]);
});

test('members, admins, owners and agents are FORBIDDEN; the limit stays', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const member = await acme.member('MEMBER');
  const adminUser = await acme.member('ADMIN');
  for (const token of [member.token, adminUser.token, acme.ownerToken, agent.token]) {
    expect(errorCodes(await gw.execute(SetMemoryValueLimit, { id: acme.id, maxValueBytes: 10 }, { token }))).toEqual(['FORBIDDEN']);
  }
  const { rows } = await adminQuery(gw.database.adminUrl, 'select memory_max_value_bytes from tenants where id = $1', [agent.tenantId]);
  expect(rows).toEqual([{ memory_max_value_bytes: 65536 }]);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: jsonOfBytes(1000) } }, { token: agent.token }));
});
