import { afterAll, beforeAll, expect, test } from 'vitest';
import { openValue } from '../src/modules/memory/memory-crypto.ts';
import { runMemoryMaintenance } from '../src/modules/memory/memory-maintenance.ts';
import {
  ExportAgentMemory,
  GetMemory,
  ListMemory,
  PendingMemoryPurges,
  PutMemory,
  SetMemoryRetention,
  WipeAgentMemory,
} from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { DeleteAgent } from './support/operations.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

const DAY = 86_400_000;

test('deleting an agent destroys its data key at once; its remaining rows cannot be decrypted by any key left', async () => {
  const acme = await gw.seed.tenant();
  const doomed = await agentWithToken(gw, acme);
  const survivor = await agentWithToken(gw, acme);
  for (const agent of [doomed, survivor]) {
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '{"plan":"secret"}' } }, { token: agent.token }));
  }
  expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: acme.ownerToken }));

  const keys = await adminQuery(gw.database.adminUrl, 'select agent_id, wrapped_key from agent_memory_keys');
  expect(keys.rows.map((row) => row.agent_id)).not.toContain(doomed.id);
  const { rows } = await adminQuery(
    gw.database.adminUrl,
    'select tenant_id, agent_id, key, ciphertext from agent_memory where agent_id = $1',
    [doomed.id],
  );
  expect(rows).toHaveLength(1); // still stored, until the purge
  // Every data key the gateway can still unwrap fails on it, the right AAD included.
  for (const { wrapped_key } of keys.rows) {
    const dataKey = await gw.fleetgate.keyProvider.unwrapDataKey(wrapped_key);
    const row = rows[0];
    const aad = `fleetgate-memory-v1\u0000${row?.tenant_id}\u0000${row?.agent_id}\u0000${row?.key}`;
    expect(() => openValue(dataKey, aad, Buffer.from(row?.ciphertext))).toThrow();
  }
  // And nobody can ask for it any more.
  expect(errorCodes(await gw.execute(ExportAgentMemory, { agentId: doomed.globalId }, { token: acme.ownerToken }))).toEqual(['NOT_FOUND']);
});

test('a row sealed under a key since destroyed (a write that raced a wipe) is never shown; the next write of its key replaces it', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const put = async (key: string, value: string) =>
    expectNoErrors(await gw.execute(PutMemory, { input: { key, value } }, { token: agent.token }));
  await put('a', '"one"');
  await put('b', '"two"');
  const [late] = (await adminQuery(gw.database.adminUrl, 'select * from agent_memory where agent_id = $1 and key = $2', [agent.id, 'b']))
    .rows;
  expectNoErrors(await gw.execute(WipeAgentMemory, { agentId: agent.globalId }, { token: acme.ownerToken }));
  await put('a', '"three"'); // a new data key
  // The racing write lands after the wipe committed: its row names the key the wipe destroyed.
  await adminQuery(gw.database.adminUrl, `insert into agent_memory select * from jsonb_populate_record(null::agent_memory, $1)`, [
    JSON.stringify({ ...late, ciphertext: `\\x${Buffer.from(late?.ciphertext).toString('hex')}` }),
  ]);
  const stored = await adminQuery(gw.database.adminUrl, 'select key from agent_memory where agent_id = $1 order by key', [agent.id]);
  expect(stored.rows).toEqual([{ key: 'a' }, { key: 'b' }]);

  expect(expectNoErrors(await gw.execute(GetMemory, { key: 'b' }, { token: agent.token })).memoryEntry).toBeNull();
  const listed = expectNoErrors(await gw.execute(ListMemory, {}, { token: agent.token })).memoryEntries.edges.map((edge) => edge.node.key);
  expect(listed).toEqual(['a']);
  const exported = expectNoErrors(await gw.execute(ExportAgentMemory, { agentId: agent.globalId }, { token: acme.ownerToken }));
  expect(exported.exportAgentMemory.entries.map((entry) => [entry.key, entry.value])).toEqual([['a', '"three"']]);

  await put('b', '"four"');
  expect(expectNoErrors(await gw.execute(GetMemory, { key: 'b' }, { token: agent.token })).memoryEntry?.value).toBe('"four"');
});

test('the purge removes a deleted agent’s rows once the tenant’s retention has passed, and the pending list shows it until then', async () => {
  const acme = await gw.seed.tenant();
  const other = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const bystander = await agentWithToken(gw, acme);
  const foreign = await agentWithToken(gw, other);
  for (const a of [agent, bystander, foreign]) {
    for (const key of ['a', 'b']) expectNoErrors(await gw.execute(PutMemory, { input: { key, value: '1' } }, { token: a.token }));
  }
  expectNoErrors(await gw.execute(DeleteAgent, { id: agent.globalId }, { token: acme.ownerToken }));
  expectNoErrors(await gw.execute(DeleteAgent, { id: foreign.globalId }, { token: other.ownerToken }));

  const { pendingMemoryPurges } = expectNoErrors(await gw.execute(PendingMemoryPurges, {}, { token: acme.ownerToken }));
  expect(pendingMemoryPurges).toHaveLength(1); // only its own tenant's
  const [pending] = pendingMemoryPurges;
  expect(pending?.agentId).toBe(agent.globalId);
  expect(pending?.entries).toBe(2);
  const window = new Date(pending?.purgeAfter ?? 0).getTime() - new Date(pending?.deletedAt ?? 0).getTime();
  expect(window).toBe(30 * DAY); // the default retention

  const count = async (agentId: string) =>
    (await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from agent_memory where agent_id = $1', [agentId])).rows[0]?.n;
  await runMemoryMaintenance(gw.orm, new Date(Date.now() + 29 * DAY));
  expect(await count(agent.id)).toBe(2);
  await runMemoryMaintenance(gw.orm, new Date(Date.now() + 31 * DAY));
  expect(await count(agent.id)).toBe(0);
  expect(await count(foreign.id)).toBe(0);
  expect(await count(bystander.id)).toBe(2); // a living agent's memory is never purged
  expect(expectNoErrors(await gw.execute(PendingMemoryPurges, {}, { token: acme.ownerToken })).pendingMemoryPurges).toEqual([]);
});

test('owners set the retention (pending purges move with it); admins and agents may not', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const admin = await acme.member('ADMIN');
  expect(errorCodes(await gw.execute(SetMemoryRetention, { days: 2 }, { token: admin.token }))).toEqual(['FORBIDDEN']);
  expect(errorCodes(await gw.execute(SetMemoryRetention, { days: 2 }, { token: agent.token }))).toEqual(['FORBIDDEN']);
  expect(errorCodes(await gw.execute(SetMemoryRetention, { days: 0 }, { token: acme.ownerToken }))).toEqual(['BAD_USER_INPUT']);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'a', value: '1' } }, { token: agent.token }));
  expectNoErrors(await gw.execute(DeleteAgent, { id: agent.globalId }, { token: acme.ownerToken }));
  expect(expectNoErrors(await gw.execute(SetMemoryRetention, { days: 2 }, { token: acme.ownerToken })).setMemoryRetention).toEqual({
    memoryRetentionDays: 2,
  });
  const [pending] = expectNoErrors(await gw.execute(PendingMemoryPurges, {}, { token: acme.ownerToken })).pendingMemoryPurges;
  expect(new Date(pending?.purgeAfter ?? 0).getTime() - new Date(pending?.deletedAt ?? 0).getTime()).toBe(2 * DAY);
  await runMemoryMaintenance(gw.orm, new Date(Date.now() + 3 * DAY));
  const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from agent_memory where agent_id = $1', [agent.id]);
  expect(rows[0]?.n).toBe(0);
  const audit = await adminQuery(
    gw.database.adminUrl,
    "select detail from audit_events where action = 'memory.retention.set' and tenant_id = $1",
    [agent.tenantId],
  );
  expect(audit.rows.map((row) => row.detail)).toEqual([{ days: 2, previous: 30 }]);
});

test('a tenant cannot change its memory value limit itself, even in SQL', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: gw.appUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query("select set_config('app.tenant_id', $1, true)", [agent.tenantId]);
    await expect(client.query('update tenants set memory_max_value_bytes = 1048576')).rejects.toMatchObject({ code: '42501' });
    await client.query('rollback');
  } finally {
    await client.end();
  }
});
