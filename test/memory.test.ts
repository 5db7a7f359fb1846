import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import { revokeAgentTokens } from '../src/modules/memory/agent-tokens.ts';
import {
  DeleteMemory,
  ExportAgentMemory,
  GetMemory,
  ListMemory,
  PutMemory,
  RenewAgentToken,
  WipeAgentMemory,
} from './memory-operations.ts';
import { agentWithToken, SwitchableProvider } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, freshLocalKeyProvider, type Gateway, startGateway } from './support/gateway.ts';
import { DeleteAgent, Me } from './support/operations.ts';

let gw: Gateway;
let provider: SwitchableProvider;
beforeAll(async () => {
  provider = new SwitchableProvider(await freshLocalKeyProvider());
  gw = await startGateway({ keyProvider: provider });
});
afterAll(() => gw?.close());

describe('agent tokens', () => {
  test('an agent token reaches its own memory and renews itself', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'x', value: '1' } }, { token: agent.token }));
    const { renewAgentToken } = expectNoErrors(await gw.execute(RenewAgentToken, {}, { token: agent.token }));
    expect(new Date(renewAgentToken.expiresAt).getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
    const got = await gw.execute(GetMemory, { key: 'x' }, { token: renewAgentToken.token });
    expect(expectNoErrors(got).memoryEntry?.value).toBe('1');
  });

  test('stopping revokes every token of the agent at once, renewed ones included', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    const renewed = expectNoErrors(await gw.execute(RenewAgentToken, {}, { token: agent.token })).renewAgentToken.token;
    await revokeAgentTokens(forkForTenant(gw.orm, agent.tenantId), agent.id); // what the provisioner does on stop
    for (const token of [agent.token, renewed]) {
      const refused = await gw.execute(GetMemory, { key: 'x' }, { token });
      expect(refused.status).toBe(401);
      expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
    }
  });

  test('a new container start revokes the previous start’s token', async () => {
    const acme = await gw.seed.tenant();
    const first = await agentWithToken(gw, acme);
    const { mintAgentToken } = await import('../src/modules/memory/agent-tokens.ts');
    const second = await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id: first.id, tenantId: first.tenantId });
    expect(errorCodes(await gw.execute(GetMemory, { key: 'x' }, { token: first.token }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gw.execute(GetMemory, { key: 'x' }, { token: second?.reveal() }))).toEqual([]);
  });

  test('deleting the agent revokes its token at once', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    expectNoErrors(await gw.execute(DeleteAgent, { id: agent.globalId }, { token: acme.ownerToken }));
    expect(errorCodes(await gw.execute(GetMemory, { key: 'x' }, { token: agent.token }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a token whose tenant claim was changed does not verify', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    const [header, payload, signature] = agent.token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    claims.tid = (await import('../src/shared/global-id.ts')).decodeGlobalId(other.id).id;
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    expect(errorCodes(await gw.execute(GetMemory, { key: 'x' }, { token: forged }))).toEqual(['UNAUTHENTICATED']);
  });

  test('an agent token calls nothing of its tenant: not even `me`', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    expect(errorCodes(await gw.execute(Me, {}, { token: agent.token }))).toEqual(['FORBIDDEN']);
  });
});

describe('memory through the agent token', () => {
  test('put, get, replace, delete; keys and tags searchable with pages', async () => {
    const acme = await gw.seed.tenant();
    const { token } = await agentWithToken(gw, acme);
    for (let i = 0; i < 5; i++) {
      expectNoErrors(
        await gw.execute(
          PutMemory,
          { input: { key: `notes/${i}`, value: JSON.stringify({ i }), tags: i % 2 ? ['odd'] : ['even'] } },
          { token },
        ),
      );
    }
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'other', value: '"x"', tags: ['odd'] } }, { token }));
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'notes/0', value: '{"i": "zero"}', tags: ['even'] } }, { token }));
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'notes/0' }, { token })).memoryEntry).toEqual({
      key: 'notes/0',
      value: '{"i":"zero"}',
      tags: ['even'],
      expiresAt: null,
    });

    const page1 = expectNoErrors(await gw.execute(ListMemory, { prefix: 'notes/', first: 3 }, { token })).memoryEntries;
    expect(page1.edges.map((e) => e.node.key)).toEqual(['notes/0', 'notes/1', 'notes/2']);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = expectNoErrors(
      await gw.execute(ListMemory, { prefix: 'notes/', first: 3, after: page1.pageInfo.endCursor }, { token }),
    ).memoryEntries;
    expect(page2.edges.map((e) => e.node.key)).toEqual(['notes/3', 'notes/4']);
    const odd = expectNoErrors(await gw.execute(ListMemory, { tag: 'odd', first: 10 }, { token })).memoryEntries;
    expect(odd.edges.map((e) => e.node.key)).toEqual(['notes/1', 'notes/3', 'other']);
    // A prefix is a prefix, not a pattern.
    expect(expectNoErrors(await gw.execute(ListMemory, { prefix: '%', first: 10 }, { token })).memoryEntries.edges).toEqual([]);

    expect(expectNoErrors(await gw.execute(DeleteMemory, { key: 'other' }, { token })).deleteMemory.deleted).toBe(true);
    expect(expectNoErrors(await gw.execute(DeleteMemory, { key: 'other' }, { token })).deleteMemory.deleted).toBe(false);
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'other' }, { token })).memoryEntry).toBeNull();
  });

  test('values are encrypted at rest; keys and tags are not', async () => {
    const acme = await gw.seed.tenant();
    const { token, id } = await agentWithToken(gw, acme);
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'plan', value: '{"secret":"canary-7f3a"}', tags: ['t1'] } }, { token }));
    const { rows } = await adminQuery(gw.database.adminUrl, 'select key, tags, ciphertext from agent_memory where agent_id = $1', [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.key).toBe('plan');
    expect(rows[0]?.tags).toEqual(['t1']);
    expect(Buffer.from(rows[0]?.ciphertext).includes('canary-7f3a')).toBe(false);
    const { rows: keys } = await adminQuery(gw.database.adminUrl, 'select wrapped_key from agent_memory_keys where agent_id = $1', [id]);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.wrapped_key).toMatch(/^local:v1:/);
  });

  test('expired entries are invisible at once and removed by the maintenance job', async () => {
    const acme = await gw.seed.tenant();
    const { token, id } = await agentWithToken(gw, acme);
    const soon = new Date(Date.now() + 1_500).toISOString();
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'brief', value: '1', expiresAt: soon } }, { token }));
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'brief' }, { token })).memoryEntry?.expiresAt).toBe(soon);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'brief' }, { token })).memoryEntry).toBeNull();
    expect(expectNoErrors(await gw.execute(ListMemory, { first: 10 }, { token })).memoryEntries.edges).toEqual([]);
    const { runMemoryMaintenance } = await import('../src/modules/memory/memory-maintenance.ts');
    expect((await runMemoryMaintenance(gw.orm)).expiredEntries).toBeGreaterThanOrEqual(1);
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from agent_memory where agent_id = $1', [id]);
    expect(rows[0]?.n).toBe(0);
  });

  test('bad input gets a clear error and changes nothing', async () => {
    const acme = await gw.seed.tenant();
    const { token } = await agentWithToken(gw, acme);
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '{"v":1}' } }, { token }));
    await adminQuery(gw.database.adminUrl, 'update tenants set memory_max_value_bytes = 100 where id = $1', [
      (await import('../src/shared/global-id.ts')).decodeGlobalId(acme.id).id,
    ]);
    const cases = [
      { input: { key: 'k', value: '{"v":' }, message: 'value must be valid JSON text' },
      {
        input: { key: 'k', value: JSON.stringify('x'.repeat(200)) },
        message: 'value is too large: 202 bytes, this tenant allows at most 100 bytes per entry',
      },
      { input: { key: '', value: '1' }, message: 'Invalid key: must not be empty' },
      { input: { key: 'k', value: '1', expiresAt: '2000-01-01T00:00:00.000Z' }, message: 'expiresAt must be in the future' },
    ];
    for (const { input, message } of cases) {
      const response = await gw.execute(PutMemory, { input }, { token });
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toBe(message);
    }
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'k' }, { token })).memoryEntry?.value).toBe('{"v":1}');
  });

  test('with the key provider down, memory is refused clearly, and nothing committed is lost', async () => {
    const acme = await gw.seed.tenant();
    const { token } = await agentWithToken(gw, acme);
    const fresh = await agentWithToken(gw, acme);
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '"before"' } }, { token }));
    provider.down = true;
    try {
      // A new provider instance (the gateway restarted with another key) must also fail closed; here: down.
      for (const response of [
        await gw.execute(PutMemory, { input: { key: 'k', value: '"after"' } }, { token: fresh.token }),
        await gw.execute(GetMemory, { key: 'k' }, { token }),
      ]) {
        expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
        expect(response.errors?.[0]?.message).toMatch(/key provider|cannot be decrypted/);
      }
    } finally {
      provider.down = false;
    }
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'k' }, { token })).memoryEntry?.value).toBe('"before"');
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'k' }, { token: fresh.token })).memoryEntry).toBeNull();
  });

  test('a wiped key provider (a gateway with a different KEK) cannot read, and refuses to overwrite', async () => {
    const other = await startGateway({ keyProvider: await freshLocalKeyProvider() });
    try {
      const acme = await other.seed.tenant();
      const { token, id, tenantId } = await agentWithToken(other, acme);
      expectNoErrors(await other.execute(PutMemory, { input: { key: 'k', value: '"kept"' } }, { token }));
      // Same database, the KEK lost: a second gateway on it with a fresh provider.
      const { startGateway: startFleetgate } = await import('../src/gateway.ts');
      const wiped = await startFleetgate({
        appUrl: other.appUrl,
        keyring: other.keyring,
        log: other.log,
        userTokenTtl: '1h',
        canaryIntervalMs: 0,
        testing: { withoutCanary: true },
        policy: {
          mode: 'development',
          tenantRateLimitPerMinute: 100_000,
          apiKeyRateLimitPerMinute: 100_000,
          signUp: 'open',
          signUpPerIpPerHour: 100_000,
        },
        keyProvider: await freshLocalKeyProvider(),
      });
      try {
        const tokenThere = (await wiped.tokens.issue({ kind: 'agent', tenantId, agentId: id, generation: 1 }, '5m')).reveal();
        const call = async (body: object) =>
          (
            await wiped.yoga.fetch('http://gateway.test/graphql', {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenThere}` },
              body: JSON.stringify(body),
            })
          ).json() as Promise<{ errors?: { message: string; extensions: { code: string } }[] }>;
        const read = await call({ query: 'query { memoryEntry(key: "k") { value } }' });
        expect(read.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
        const write = await call({ query: 'mutation { putMemory(input: { key: "k", value: "\\"lost\\"" }) { entry { key } } }' });
        expect(write.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
        expect(JSON.stringify([read, write])).not.toContain('local:v');
      } finally {
        await wiped.close();
      }
      expect(expectNoErrors(await other.execute(GetMemory, { key: 'k' }, { token })).memoryEntry?.value).toBe('"kept"');
    } finally {
      await other.close();
    }
  });
});

describe('owners and admins: one agent at a time', () => {
  test('one undecryptable row degrades the export, not the agent: the rest returned, the row named and audited (regression: the export failed whole)', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    for (const key of ['a', 'b', 'c']) {
      expectNoErrors(await gw.execute(PutMemory, { input: { key, value: `"${key}-value"` } }, { token: agent.token }));
    }
    // A database administrator copies a's ciphertext onto b: its additional data (the key) no longer matches.
    await adminQuery(
      gw.database.adminUrl,
      "update agent_memory b set ciphertext = a.ciphertext from agent_memory a where a.agent_id = b.agent_id and a.key = 'a' and b.key = 'b' and b.agent_id = $1",
      [agent.id],
    );
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.ownerToken}` },
      body: JSON.stringify({
        query: 'query E($id: ID!) { exportAgentMemory(agentId: $id) { entries { key value } unreadable { key reason } } }',
        variables: { id: agent.globalId },
      }),
    });
    expect(await response.json()).toEqual({
      data: {
        exportAgentMemory: {
          entries: [
            { key: 'a', value: '"a-value"' },
            { key: 'c', value: '"c-value"' },
          ],
          unreadable: [{ key: 'b', reason: 'DECRYPTION_FAILED' }],
        },
      },
    });
    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select detail from audit_events where action = 'memory.export' and target_id = $1 order by seq desc limit 1",
      [agent.id],
    );
    const [tampered] = (await adminQuery(gw.database.adminUrl, "select id from agent_memory where agent_id = $1 and key = 'b'", [agent.id]))
      .rows;
    expect(rows[0]?.detail).toEqual({ entries: 2, unreadable: 1, unreadableIds: [tampered?.id] });
  });

  test('export and wipe one agent, audited; members may not; a foreign agent looks missing', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    const sibling = await agentWithToken(gw, acme);
    const foreign = await agentWithToken(gw, other);
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'a', value: '1', tags: ['t'] } }, { token: agent.token }));
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'sib', value: '2' } }, { token: sibling.token }));
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'theirs', value: '3' } }, { token: foreign.token }));
    const admin = await acme.member('ADMIN');
    const member = await acme.member('MEMBER');

    const exported = expectNoErrors(await gw.execute(ExportAgentMemory, { agentId: agent.globalId }, { token: admin.token }));
    expect(exported.exportAgentMemory).toEqual({ agentId: agent.globalId, entries: [{ key: 'a', value: '1', tags: ['t'] }] });
    expect(errorCodes(await gw.execute(ExportAgentMemory, { agentId: agent.globalId }, { token: member.token }))).toEqual(['FORBIDDEN']);
    const foreignAnswer = await gw.execute(ExportAgentMemory, { agentId: foreign.globalId }, { token: acme.ownerToken });
    const { encodeGlobalId } = await import('../src/shared/global-id.ts');
    const missingAnswer = await gw.execute(
      ExportAgentMemory,
      { agentId: encodeGlobalId('Agent', crypto.randomUUID()) },
      { token: acme.ownerToken },
    );
    expect(errorCodes(foreignAnswer)).toEqual(['NOT_FOUND']);
    expect(foreignAnswer).toEqual(missingAnswer);
    expect(errorCodes(await gw.execute(WipeAgentMemory, { agentId: foreign.globalId }, { token: acme.ownerToken }))).toEqual(['NOT_FOUND']);

    expect(
      expectNoErrors(await gw.execute(WipeAgentMemory, { agentId: agent.globalId }, { token: acme.ownerToken })).wipeAgentMemory,
    ).toEqual({
      deletedEntries: 1,
    });
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'a' }, { token: agent.token })).memoryEntry).toBeNull();
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'sib' }, { token: sibling.token })).memoryEntry?.value).toBe('2');
    expect(expectNoErrors(await gw.execute(GetMemory, { key: 'theirs' }, { token: foreign.token })).memoryEntry?.value).toBe('3');

    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select action, actor_type, target_id, detail from audit_events where tenant_id = $1 and action like 'memory.%' order by seq",
      [agent.tenantId],
    );
    expect(rows.map((row) => [row.action, row.actor_type, row.target_id, row.detail.entries])).toEqual([
      ['memory.export', 'USER', agent.id, 1],
      ['memory.wipe', 'USER', agent.id, 1],
    ]);
  });

  test('an agent token cannot export or wipe, not even itself', async () => {
    const acme = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    expect(errorCodes(await gw.execute(ExportAgentMemory, { agentId: agent.globalId }, { token: agent.token }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(WipeAgentMemory, { agentId: agent.globalId }, { token: agent.token }))).toEqual(['FORBIDDEN']);
  });
});
