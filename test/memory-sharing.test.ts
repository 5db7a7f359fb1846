import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import {
  CreateWorkspaceFile,
  GrantWorkspaceFile,
  HandoffInbox,
  ReadWorkspaceFile,
  RevokeWorkspaceFileGrant,
  SendHandoff,
  WriteWorkspaceFile,
} from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

describe('handoffs', () => {
  test('A hands a payload to B; B sees it in its inbox; both ends are audited; C sees nothing', async () => {
    const acme = await gw.seed.tenant();
    const a = await agentWithToken(gw, acme);
    const b = await agentWithToken(gw, acme);
    const c = await agentWithToken(gw, acme);
    const sent = expectNoErrors(
      await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '{"task": "summarise", "doc": 7}' } }, { token: a.token }),
    ).sendHandoff.handoff;
    expect(sent).toMatchObject({ fromAgentId: a.globalId, toAgentId: b.globalId });
    expect(JSON.parse(sent.payload)).toEqual({ task: 'summarise', doc: 7 }); // jsonb: same value, key order its own

    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token })).handoffInbox.edges;
    expect(inbox.map((edge) => [edge.node.id, JSON.parse(edge.node.payload)])).toEqual([[sent.id, { task: 'summarise', doc: 7 }]]);
    expect(inbox[0]?.node.receivedAt).not.toBeNull();
    expect(expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: c.token })).handoffInbox.edges).toEqual([]);
    expect(expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: a.token })).handoffInbox.edges).toEqual([]);
    // Reading the inbox again records nothing new.
    expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: b.token }));

    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select action, actor_type, actor_id, target_id from audit_events where tenant_id = $1 and action like 'handoff.%' order by seq",
      [a.tenantId],
    );
    expect(rows).toEqual([
      { action: 'handoff.send', actor_type: 'AGENT', actor_id: a.id, target_id: b.id },
      { action: 'handoff.receive', actor_type: 'AGENT', actor_id: b.id, target_id: a.id },
    ]);
  });

  test('a handoff to another tenant’s agent looks exactly like one to a missing agent, and writes nothing', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const a = await agentWithToken(gw, acme);
    const foreign = await agentWithToken(gw, other);
    const toForeign = await gw.execute(SendHandoff, { input: { toAgentId: foreign.globalId, payload: '1' } }, { token: a.token });
    const toMissing = await gw.execute(
      SendHandoff,
      { input: { toAgentId: encodeGlobalId('Agent', crypto.randomUUID()), payload: '1' } },
      { token: a.token },
    );
    expect(errorCodes(toForeign)).toEqual(['NOT_FOUND']);
    expect(toForeign).toEqual(toMissing);
    expect(expectNoErrors(await gw.execute(HandoffInbox, { first: 10 }, { token: foreign.token })).handoffInbox.edges).toEqual([]);
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from handoffs where agent_id = $1', [foreign.id]);
    expect(rows[0]?.n).toBe(0);
  });

  test('bad payloads and users are refused', async () => {
    const acme = await gw.seed.tenant();
    const a = await agentWithToken(gw, acme);
    const b = await agentWithToken(gw, acme);
    const bad = await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '{oops' } }, { token: a.token });
    expect(bad.errors?.[0]?.message).toBe('value must be valid JSON text');
    expect(
      errorCodes(await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '1' } }, { token: acme.ownerToken })),
    ).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(HandoffInbox, { first: 5 }, { token: acme.ownerToken }))).toEqual(['FORBIDDEN']);
  });
});

describe('shared workspace files', () => {
  test('agents read and write only with a grant; READ cannot write; revoking ends it', async () => {
    const acme = await gw.seed.tenant();
    const reader = await agentWithToken(gw, acme);
    const writer = await agentWithToken(gw, acme);
    const outsider = await agentWithToken(gw, acme);
    const file = expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: 'brief.md', content: 'v1' } }, { token: acme.ownerToken }),
    ).createWorkspaceFile.file;
    for (const [agent, mode] of [
      [reader, 'READ'],
      [writer, 'WRITE'],
    ] as const) {
      expectNoErrors(
        await gw.execute(GrantWorkspaceFile, { input: { fileId: file.id, agentId: agent.globalId, mode } }, { token: acme.ownerToken }),
      );
    }
    expect(expectNoErrors(await gw.execute(ReadWorkspaceFile, { name: 'brief.md' }, { token: reader.token })).workspaceFile.content).toBe(
      'v1',
    );
    expectNoErrors(await gw.execute(WriteWorkspaceFile, { input: { name: 'brief.md', content: 'v2' } }, { token: writer.token }));
    expect(expectNoErrors(await gw.execute(ReadWorkspaceFile, { name: 'brief.md' }, { token: reader.token })).workspaceFile.content).toBe(
      'v2',
    );
    expect(
      errorCodes(await gw.execute(WriteWorkspaceFile, { input: { name: 'brief.md', content: 'x' } }, { token: reader.token })),
    ).toEqual(['FORBIDDEN']);
    // No grant looks exactly like no file.
    const ungranted = await gw.execute(ReadWorkspaceFile, { name: 'brief.md' }, { token: outsider.token });
    const missing = await gw.execute(ReadWorkspaceFile, { name: 'nothing.md' }, { token: outsider.token });
    expect(errorCodes(ungranted)).toEqual(['NOT_FOUND']);
    expect(ungranted).toEqual(missing);

    expectNoErrors(
      await gw.execute(RevokeWorkspaceFileGrant, { input: { fileId: file.id, agentId: reader.globalId } }, { token: acme.ownerToken }),
    );
    expect(errorCodes(await gw.execute(ReadWorkspaceFile, { name: 'brief.md' }, { token: reader.token }))).toEqual(['NOT_FOUND']);

    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select action, actor_type from audit_events where tenant_id = $1 and action like 'workspace.%' order by seq",
      [reader.tenantId],
    );
    expect(rows.map((row) => `${row.action}:${row.actor_type}`)).toEqual([
      'workspace.file.create:USER',
      'workspace.grant:USER',
      'workspace.grant:USER',
      'workspace.file.write:AGENT',
      'workspace.revoke:USER',
    ]);
  });

  test('grants reach only agents of the tenant; members and agents cannot grant', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const agent = await agentWithToken(gw, acme);
    const foreign = await agentWithToken(gw, other);
    const member = await acme.member('MEMBER');
    const file = expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: 'x.txt', content: '' } }, { token: acme.ownerToken }),
    ).createWorkspaceFile.file;
    const grant = (agentId: string, token: string) =>
      gw.execute(GrantWorkspaceFile, { input: { fileId: file.id, agentId, mode: 'WRITE' } }, { token });
    const toForeign = await grant(foreign.globalId, acme.ownerToken);
    const toMissing = await grant(encodeGlobalId('Agent', crypto.randomUUID()), acme.ownerToken);
    expect(errorCodes(toForeign)).toEqual(['NOT_FOUND']);
    expect(toForeign).toEqual(toMissing);
    expect(errorCodes(await grant(agent.globalId, member.token))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await grant(agent.globalId, agent.token))).toEqual(['FORBIDDEN']);
    // Another tenant's file is as missing as a missing one.
    const theirs = await gw.execute(
      GrantWorkspaceFile,
      { input: { fileId: file.id, agentId: foreign.globalId, mode: 'READ' } },
      { token: other.ownerToken },
    );
    expect(errorCodes(theirs)).toEqual(['NOT_FOUND']);
  });
});
