import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CreateWorkspaceFile,
  GrantWorkspaceFile,
  HandoffInbox,
  ReadWorkspaceFile,
  SendHandoff,
  WriteWorkspaceFile,
} from './memory-operations.ts';
import { agentWithToken, SwitchableProvider } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, freshLocalKeyProvider, type Gateway, startGateway } from './support/gateway.ts';

let gw: Gateway;
let provider: SwitchableProvider;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((result) => result.rows);

beforeAll(async () => {
  provider = new SwitchableProvider(await freshLocalKeyProvider());
  gw = await startGateway({ keyProvider: provider });
});
afterAll(() => gw?.close());

async function sharingSetup() {
  const acme = await gw.seed.tenant();
  const a = await agentWithToken(gw, acme);
  const b = await agentWithToken(gw, acme);
  return { acme, a, b };
}

describe('handoffs and workspace files at rest', () => {
  test('are stored sealed under the tenant’s sharing key: the rows hold no plaintext and the key is held wrapped', async () => {
    const { acme, a, b } = await sharingSetup();
    const marker = `canary-${crypto.randomUUID()}`;
    const sent = expectNoErrors(
      await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: JSON.stringify({ secret: marker }) } }, { token: a.token }),
    ).sendHandoff.handoff;
    expect(JSON.parse(sent.payload)).toEqual({ secret: marker });
    const file = expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: 'plan.md', content: `${marker} v1` } }, { token: acme.ownerToken }),
    ).createWorkspaceFile.file;
    expect(file.content).toBe(`${marker} v1`);
    expectNoErrors(
      await gw.execute(GrantWorkspaceFile, { input: { fileId: file.id, agentId: b.globalId, mode: 'WRITE' } }, { token: acme.ownerToken }),
    );
    expectNoErrors(await gw.execute(WriteWorkspaceFile, { input: { name: 'plan.md', content: `${marker} v2` } }, { token: b.token }));

    // The raw rows, as a superuser: sealed bytes only, no trace of the marker anywhere in them.
    const [handoff] = await admin('select payload, sealed_payload, to_jsonb(h)::text as row from handoffs h where tenant_id = $1', [
      a.tenantId,
    ]);
    expect(handoff?.payload).toBeNull();
    expect(Buffer.isBuffer(handoff?.sealed_payload)).toBe(true);
    expect(handoff?.sealed_payload.includes(marker)).toBe(false);
    expect(handoff?.row).not.toContain(marker);
    const [stored] = await admin('select content, sealed_content, to_jsonb(f)::text as row from workspace_files f where tenant_id = $1', [
      a.tenantId,
    ]);
    expect(stored?.content).toBeNull();
    expect(stored?.sealed_content.includes(marker)).toBe(false);
    expect(stored?.row).not.toContain(marker);
    const keys = await admin('select provider, wrapped_key from tenant_sharing_keys where tenant_id = $1', [a.tenantId]);
    expect(keys).toEqual([{ provider: 'local', wrapped_key: expect.stringMatching(/^local:v\d+:/) }]);

    // Opened for those who may read them.
    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token })).handoffInbox.edges;
    expect(inbox.map((edge) => JSON.parse(edge.node.payload))).toEqual([{ secret: marker }]);
    expect(expectNoErrors(await gw.execute(ReadWorkspaceFile, { name: 'plan.md' }, { token: b.token })).workspaceFile.content).toBe(
      `${marker} v2`,
    );
  });

  test('a ciphertext moved to another row, or to another tenant, does not open: a clear SERVICE_UNAVAILABLE, never someone else’s data', async () => {
    const { a, b } = await sharingSetup();
    for (const payload of ['"first"', '"second"']) {
      expectNoErrors(await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload } }, { token: a.token }));
    }
    // The superuser swaps the second handoff's ciphertext for the first's (additional data binds the row id).
    await admin(
      `update handoffs set sealed_payload = (select sealed_payload from handoffs where tenant_id = $1 order by id limit 1)
        where id = (select id from handoffs where tenant_id = $1 order by id desc limit 1)`,
      [a.tenantId],
    );
    const moved = await gw.execute(HandoffInbox, { first: 10 }, { token: b.token });
    expect(errorCodes(moved)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(moved.errors?.[0]?.message).toBe('This shared data cannot be decrypted with its tenant’s sharing key');

    // Another tenant's sealed file copied over one of this tenant's: it does not open with this tenant's key.
    const other = await sharingSetup();
    expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: 'theirs.md', content: 'their secret' } }, { token: other.acme.ownerToken }),
    );
    const mine = await sharingSetup();
    const ours = expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: 'ours.md', content: 'ours' } }, { token: mine.acme.ownerToken }),
    ).createWorkspaceFile.file;
    expectNoErrors(
      await gw.execute(
        GrantWorkspaceFile,
        { input: { fileId: ours.id, agentId: mine.b.globalId, mode: 'READ' } },
        { token: mine.acme.ownerToken },
      ),
    );
    await admin(
      `update workspace_files set sealed_content = (select sealed_content from workspace_files where tenant_id = $1 and name = 'theirs.md')
        where tenant_id = $2 and name = 'ours.md'`,
      [other.a.tenantId, mine.a.tenantId],
    );
    const copied = await gw.execute(ReadWorkspaceFile, { name: 'ours.md' }, { token: mine.b.token });
    expect(errorCodes(copied)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(JSON.stringify(copied)).not.toContain('their secret');
  });

  test('rows written before encryption are still read as they are, and a file is sealed from its next write on', async () => {
    const { acme, a, b } = await sharingSetup();
    const legacy = crypto.randomUUID();
    await admin(`insert into handoffs (id, tenant_id, agent_id, from_agent_id, payload) values ($1, $2, $3, $4, '{"old": true}')`, [
      legacy,
      a.tenantId,
      b.id,
      a.id,
    ]);
    const file = crypto.randomUUID();
    await admin("insert into workspace_files (id, tenant_id, name, content) values ($1, $2, 'old.md', 'old text')", [file, a.tenantId]);
    await admin("insert into workspace_file_grants (file_id, agent_id, tenant_id, mode) values ($1, $2, $3, 'WRITE')", [
      file,
      b.id,
      a.tenantId,
    ]);
    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token })).handoffInbox.edges;
    expect(inbox.map((edge) => JSON.parse(edge.node.payload))).toEqual([{ old: true }]);
    expect(expectNoErrors(await gw.execute(ReadWorkspaceFile, { name: 'old.md' }, { token: b.token })).workspaceFile.content).toBe(
      'old text',
    );
    expectNoErrors(await gw.execute(WriteWorkspaceFile, { input: { name: 'old.md', content: 'new text' } }, { token: b.token }));
    expect(await admin('select content, sealed_content is not null as sealed from workspace_files where id = $1', [file])).toEqual([
      { content: null, sealed: true },
    ]);
    expect(acme.id).toBeTruthy();
  });

  test('with the key provider down, sending and reading are refused clearly and nothing is written', async () => {
    const { acme, a, b } = await sharingSetup();
    expectNoErrors(await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '"kept"' } }, { token: a.token }));
    provider.down = true;
    try {
      for (const response of [
        await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '"lost?"' } }, { token: a.token }),
        await gw.execute(HandoffInbox, { first: 10 }, { token: b.token }),
        await gw.execute(CreateWorkspaceFile, { input: { name: 'new.md', content: 'x' } }, { token: acme.ownerToken }),
      ]) {
        expect(errorCodes(response)).toEqual(['SERVICE_UNAVAILABLE']);
        expect(response.errors?.[0]?.message).toBe('Shared data is unavailable: the key provider cannot be used. Nothing was changed.');
      }
    } finally {
      provider.down = false;
    }
    expect(await admin('select count(*)::int as n from handoffs where tenant_id = $1', [a.tenantId])).toEqual([{ n: 1 }]);
    expect(await admin('select count(*)::int as n from workspace_files where tenant_id = $1', [a.tenantId])).toEqual([{ n: 0 }]);
    // The inbox was not marked received while it could not be read.
    expect(await admin('select received_at from handoffs where tenant_id = $1', [a.tenantId])).toEqual([{ received_at: null }]);
    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token })).handoffInbox.edges;
    expect(inbox.map((edge) => edge.node.payload)).toEqual(['"kept"']);
  });

  test('a KEK rotation rewraps the sharing keys before it retires the old version', async () => {
    const { a, b } = await sharingSetup();
    expectNoErrors(await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '"before rotation"' } }, { token: a.token }));
    const version = await provider.rotate();
    await gw.fleetgate.keyRotation.poke();
    expect(await admin('select distinct wrapped_key_version(wrapped_key) as v from tenant_sharing_keys')).toEqual([{ v: version }]);
    expect(await provider.status()).toMatchObject({ latestVersion: version, minDecryptionVersion: version });
    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token })).handoffInbox.edges;
    expect(inbox.map((edge) => edge.node.payload)).toEqual(['"before rotation"']);
  });
});
