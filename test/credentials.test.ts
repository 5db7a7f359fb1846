import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import { EnvelopeIntegrityError, VaultKeyProvider } from '../src/keys/index.ts';
import { CredentialUnreadableError, openAgentCredentials } from '../src/modules/credentials/credential.service.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { newId } from '../src/shared/ids.ts';
import { Secret } from '../src/shared/secret.ts';
import { AgentCredentials, DeleteCredential, RotateCredential, SetCredential } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditLog, GrantSupportAccess } from './support/operations.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';

/** A value that must never be seen again outside the agent's process, and the forms it could leak in. */
function canary(label: string) {
  const value = `canary-${label}-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const forms = [
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('hex'),
    Buffer.from(value).toString('base64url'),
  ];
  return { value, forms };
}

function expectNoLeak(text: string, secret: { forms: string[] }, where: string) {
  for (const form of secret.forms) expect(text.includes(form), `${where} holds ${form}`).toBe(false);
}

const idOf = (globalId: string) => decodeGlobalId(globalId).id;

describe('credentials through the API (local key provider)', () => {
  let gw: Gateway;
  const canaries: ReturnType<typeof canary>[] = [];
  const responses: string[] = [];
  let acme: Awaited<ReturnType<Gateway['seed']['tenant']>>;
  let agentA: string;
  let agentB: string;

  beforeAll(async () => {
    gw = await startGateway();
    acme = await gw.seed.tenant();
    agentA = (await acme.agent('agent-a')).id;
    agentB = (await acme.agent('agent-b')).id;
  });
  afterAll(() => gw?.close());

  const run: Gateway['execute'] = async (document, variables, auth) => {
    const response = await gw.execute(document, variables, auth);
    responses.push(JSON.stringify(response));
    return response;
  };

  test('set, list, rotate and delete: metadata only, never the value', async () => {
    const first = canary('set');
    const second = canary('rotate');
    canaries.push(first, second);
    const set = expectNoErrors(
      await run(SetCredential, { agentId: agentA, name: 'OPENAI_API_KEY', value: first.value }, { token: acme.ownerToken }),
    );
    expect(set.setCredential.credential).toMatchObject({ name: 'OPENAI_API_KEY', version: 1, rotatedAt: null });
    expect(set.setCredential.credential.fingerprint).toMatch(/^[0-9a-f]{16}$/);

    const rotated = expectNoErrors(
      await run(RotateCredential, { agentId: agentA, name: 'OPENAI_API_KEY', value: second.value }, { token: acme.ownerToken }),
    );
    expect(rotated.rotateCredential.credential).toMatchObject({ name: 'OPENAI_API_KEY', version: 2 });
    expect(rotated.rotateCredential.credential.rotatedAt).not.toBeNull();
    expect(rotated.rotateCredential.credential.fingerprint).not.toBe(set.setCredential.credential.fingerprint);

    expectNoErrors(
      await run(SetCredential, { agentId: agentA, name: 'GITHUB_TOKEN', value: canary('x').value }, { token: acme.ownerToken }),
    );
    const listed = expectNoErrors(await run(AgentCredentials, { id: agentA }, { token: acme.ownerToken }));
    expect(listed.agent.credentials.map((c) => [c.name, c.version])).toEqual([
      ['GITHUB_TOKEN', 1],
      ['OPENAI_API_KEY', 2],
    ]);
    expect(expectNoErrors(await run(DeleteCredential, { agentId: agentA, name: 'GITHUB_TOKEN' }, { token: acme.ownerToken }))).toEqual({
      deleteCredential: { deletedName: 'GITHUB_TOKEN', agent: { id: agentA } },
    });
    const after = expectNoErrors(await run(AgentCredentials, { id: agentA }, { token: acme.ownerToken }));
    expect(after.agent.credentials.map((c) => c.name)).toEqual(['OPENAI_API_KEY']);
  });

  test('the values decrypt only for their own agent: A’s value is not B’s, and a ciphertext moved to B’s row fails', async () => {
    const a = canary('only-a');
    canaries.push(a);
    expectNoErrors(await run(SetCredential, { agentId: agentA, name: 'ONLY_A', value: a.value }, { token: acme.ownerToken }));
    expectNoErrors(
      await run(SetCredential, { agentId: agentB, name: 'ONLY_B', value: canary('only-b').value }, { token: acme.ownerToken }),
    );
    const tenantId = idOf(acme.id);
    const open = (agentId: string) =>
      openAgentCredentials(forkForTenant(gw.orm, tenantId), gw.keyProvider, { tenantId, agentId: idOf(agentId) });
    expect((await open(agentA)).map((c) => [c.name, c.value.toString()])).toContainEqual(['ONLY_A', a.value]);
    expect((await open(agentB)).map((c) => c.name)).toEqual(['ONLY_B']);

    // An attacker with write access to the table copies A's sealed value into B's row: B's start fails, it never gets A's value.
    await adminQuery(
      gw.database.adminUrl,
      `update agent_credentials b set ciphertext = a.ciphertext, nonce = a.nonce, wrapped_key = a.wrapped_key, key_version = a.key_version
         from agent_credentials a where a.name = 'ONLY_A' and b.name = 'ONLY_B'`,
    );
    const refused = await open(agentB).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CredentialUnreadableError); // names the credential (for the agent's statusReason), never its value
    expect((refused as Error).message).toBe('credential "ONLY_B" failed its integrity check');
    expect((refused as Error).cause).toBeInstanceOf(EnvelopeIntegrityError);
  });

  test('another tenant’s agent answers exactly like a missing one, and its credentials stay untouched', async () => {
    const other = await gw.seed.tenant();
    const missing = encodeGlobalId('Agent', newId());
    for (const agentId of [agentA, missing]) {
      const attempts = [
        await run(SetCredential, { agentId, name: 'PLANTED', value: canary('planted').value }, { token: other.ownerToken }),
        await run(RotateCredential, { agentId, name: 'ONLY_A', value: canary('planted').value }, { token: other.ownerToken }),
        await run(DeleteCredential, { agentId, name: 'ONLY_A' }, { token: other.ownerToken }),
        await run(AgentCredentials, { id: agentId }, { token: other.ownerToken }),
      ];
      expect(attempts.map((r) => [errorCodes(r), r.errors?.[0]?.message])).toEqual([
        [['NOT_FOUND'], 'Agent not found'],
        [['NOT_FOUND'], 'Agent not found'],
        [['NOT_FOUND'], 'Agent not found'],
        [['NOT_FOUND'], 'Agent not found'],
      ]);
    }
    const mine = expectNoErrors(await run(AgentCredentials, { id: agentA }, { token: acme.ownerToken }));
    expect(mine.agent.credentials.map((c) => c.name)).toEqual(['ONLY_A', 'OPENAI_API_KEY']);
  });

  test('only owners and admins manage or list credentials', async () => {
    const admin = await acme.member('ADMIN');
    const member = await acme.member('MEMBER');
    const viewer = await acme.member('VIEWER');
    const { grantSupportAccess } = expectNoErrors(
      await run(
        GrantSupportAccess,
        { input: { supportPrincipal: 'sam@support.io', reason: 'ticket 1', durationMinutes: 30 } },
        { token: acme.ownerToken },
      ),
    );
    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    expectNoErrors(await run(SetCredential, { agentId: agentA, name: 'BY_ADMIN', value: canary('admin').value }, { token: admin.token }));
    expectNoErrors(await run(AgentCredentials, { id: agentA }, { token: admin.token }));
    for (const token of [member.token, viewer.token, grantSupportAccess.token, operator]) {
      expect(errorCodes(await run(SetCredential, { agentId: agentA, name: 'NOPE', value: canary('nope').value }, { token }))).toEqual([
        'FORBIDDEN',
      ]);
      expect(errorCodes(await run(DeleteCredential, { agentId: agentA, name: 'BY_ADMIN' }, { token }))).toEqual(['FORBIDDEN']);
    }
    // Members and viewers read the agent but not its credential list.
    expect(errorCodes(await run(AgentCredentials, { id: agentA }, { token: viewer.token }))).toEqual(['FORBIDDEN']);
    const key = await acme.apiKey(['AGENTS_READ', 'AGENTS_WRITE']);
    const byKey = await run(SetCredential, { agentId: agentA, name: 'NOPE', value: canary('key').value }, { token: key.key });
    expect(byKey.status).toBe(403);
    expect(errorCodes(await run(SetCredential, { agentId: agentA, name: 'NOPE', value: canary('anon').value }))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });

  test('bad input is refused without echoing the value', async () => {
    const long = `canary-long-${'x'.repeat(33 * 1024)}`;
    const cases = [
      [{ name: 'lower_case', value: canary('bad-name').value }, 'BAD_USER_INPUT'],
      [{ name: 'PATH', value: canary('path').value }, 'BAD_USER_INPUT'],
      [{ name: 'LD_PRELOAD', value: canary('ld').value }, 'BAD_USER_INPUT'],
      [{ name: 'FLEETGATE_AGENT_TOKEN', value: canary('reserved').value }, 'BAD_USER_INPUT'],
      [{ name: 'TOO_LONG', value: long }, 'BAD_USER_INPUT'],
      [{ name: 'EMPTY', value: '' }, 'BAD_USER_INPUT'],
      [{ name: 'ONLY_A', value: canary('dup').value }, 'CONFLICT'],
    ] as const;
    for (const [input, code] of cases) {
      const response = await run(SetCredential, { agentId: agentA, ...input }, { token: acme.ownerToken });
      expect(errorCodes(response), input.name).toEqual([code]);
      expect(JSON.stringify(response)).not.toContain(input.value || '\u0000');
    }
    // A value of the wrong type: graphql-js would quote it in its error; the scalar never rejects, the service does.
    const numeric = 987654321234567;
    const response = await gw.execute(
      SetCredential,
      { agentId: agentA, name: 'NUMERIC', value: numeric as unknown as string },
      { token: acme.ownerToken },
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(response)).not.toContain('98765432');
    expect(
      errorCodes(
        await run(RotateCredential, { agentId: agentA, name: 'ABSENT', value: canary('absent').value }, { token: acme.ownerToken }),
      ),
    ).toEqual(['NOT_FOUND']);
  });

  test('every change is audited in its transaction, with the name and version, never the value', async () => {
    const { auditLog } = expectNoErrors(
      await run(AuditLog, { first: 100, filter: { targetId: idOf(agentA) } }, { token: acme.ownerToken }),
    );
    const events = auditLog.edges.map((edge) => edge.node).filter((event) => event.action.startsWith('credential.'));
    expect(events.map((event) => [event.action, event.detail.name, event.detail.version])).toEqual(
      expect.arrayContaining([
        ['credential.set', 'OPENAI_API_KEY', 1],
        ['credential.rotate', 'OPENAI_API_KEY', 2],
        ['credential.delete', 'GITHUB_TOKEN', 1],
      ]),
    );
    for (const secret of canaries) expectNoLeak(JSON.stringify(auditLog), secret, 'the audit log');
  });

  test('no canary anywhere: responses, logs (trace level), or the table read raw', async () => {
    const { rows } = await adminQuery<{ row: string }>(gw.database.adminUrl, 'select row_to_json(c)::text as row from agent_credentials c');
    expect(rows.length).toBeGreaterThan(0);
    const dump = rows.map((r) => r.row).join('\n');
    const everything = [responses.join('\n'), gw.logs(), dump].join('\n');
    expect(canaries.length).toBeGreaterThanOrEqual(3);
    for (const secret of canaries) {
      expectNoLeak(responses.join('\n'), secret, 'a GraphQL response');
      expectNoLeak(gw.logs(), secret, 'the logs');
      expectNoLeak(dump, secret, 'the database');
      expectNoLeak(everything, secret, 'anything');
    }
  });
});

describe('the key provider down, sealed or denying: credential operations fail closed', () => {
  let gw: Gateway;
  let vault: TransitServer;
  const token = `hvs.${Math.random().toString(36).slice(2)}-vault-token`;

  beforeAll(async () => {
    vault = await startTransitServer({ token });
    gw = await startGateway({
      keyProvider: new VaultKeyProvider({
        address: vault.address,
        token: new Secret(token),
        key: 'fleetgate',
        log: (await import('../src/shared/logger.ts')).createLogger({ level: 'silent' }),
      }),
    });
  });
  afterAll(async () => {
    await gw?.close();
    await vault?.close();
  });

  test('works while Vault answers; sealed, then denied: SERVICE_UNAVAILABLE, nothing written, no secret in the answer', async () => {
    const acme = await gw.seed.tenant();
    const agent = (await acme.agent()).id;
    expectNoErrors(
      await gw.execute(SetCredential, { agentId: agent, name: 'WORKS', value: canary('works').value }, { token: acme.ownerToken }),
    );

    vault.state.sealed = true;
    const sealedSecret = canary('sealed');
    const sealed = await gw.execute(
      SetCredential,
      { agentId: agent, name: 'SEALED', value: sealedSecret.value },
      { token: acme.ownerToken },
    );
    expect(sealed.errors).toEqual([
      expect.objectContaining({
        message: 'The key provider is unavailable; credentials cannot be changed or used right now',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      }),
    ]);
    expectNoLeak(JSON.stringify(sealed), sealedSecret, 'the error');
    vault.state.sealed = false;

    const wrongToken = new VaultKeyProvider({
      address: vault.address,
      token: new Secret('hvs.not-the-token-0000'),
      key: 'fleetgate',
      log: gw.log,
    });
    const tenantId = idOf(acme.id);
    await expect(openAgentCredentials(forkForTenant(gw.orm, tenantId), wrongToken, { tenantId, agentId: idOf(agent) })).rejects.toThrow(
      'key provider vault unavailable: permission denied',
    );

    const listed = expectNoErrors(await gw.execute(AgentCredentials, { id: agent }, { token: acme.ownerToken }));
    expect(listed.agent.credentials.map((c) => c.name)).toEqual(['WORKS']); // the failed set left no row
    const { auditLog } = expectNoErrors(
      await gw.execute(AuditLog, { first: 50, filter: { targetId: idOf(agent) } }, { token: acme.ownerToken }),
    );
    expect(auditLog.edges.filter((e) => e.node.action === 'credential.set').map((e) => e.node.detail.name)).toEqual(['WORKS']);
    expectNoLeak(gw.logs(), sealedSecret, 'the logs');
    expect(gw.logs()).not.toContain(token);
  });
});
