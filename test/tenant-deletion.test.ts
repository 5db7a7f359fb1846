import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { publicKeyFromPem } from '../src/modules/audit/chain.ts';
import { verifyAuditReport } from '../src/modules/audit/report.ts';
import { applyAuditRetention } from '../src/modules/audit/retention.ts';
import { backupTenant, restoreTenant } from '../src/modules/enterprise/backup.service.ts';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { verifyDeletionCertificate } from '../src/modules/tenants/deletion-certificate.ts';
import { type ErasureDeps, type ErasureStep, runTenantErasure } from '../src/modules/tenants/tenant-deletion.service.ts';
import { graphql } from './gql/index.ts';
import { PutMemory } from './memory-operations.ts';
import { asOwner, seedTenantWithHistory, uuidOf } from './support/audit.ts';
import { SetCredential } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { docker, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import {
  AgentRuntimeState,
  AuditSigningKey,
  CreateRuntimeAgent,
  ExportAuditReport,
  ListAgents,
  Me,
  OwnTenant,
} from './support/operations.ts';

const RequestTenantDeletion = graphql(`
  mutation RequestTenantDeletion {
    requestTenantDeletion { id status deletionDueAt }
  }
`);
const CancelTenantDeletion = graphql(`
  mutation CancelTenantDeletion {
    cancelTenantDeletion { id status deletionDueAt }
  }
`);
const TenantDeletion = graphql(`
  query TenantDeletion($tenantId: ID!) {
    tenantDeletion(tenantId: $tenantId) { tenantId step dueAt attempts lastError erasedAt certificate }
  }
`);
const OperatorTenants = graphql(`
  query OperatorTenants {
    platformTenants(first: 100) { edges { node { id status deletionDueAt } } }
  }
`);
const UnfreezeForDeletion = graphql(`
  mutation UnfreezeForDeletion($id: ID!) {
    unfreezeTenant(id: $id) { status }
  }
`);

const TenantAndMe = graphql(`
  query TenantAndMe {
    tenant { id status }
    me { id }
  }
`);

const GRACE_SECONDS = 3;
const REFERENCE_IMAGE = 'fleetgate/agent:1';
const run = promisify(execFile);

// No skip when Docker is missing: the container part runs against the real engine.
let gw: Gateway;
let backupDir: string;
let operatorToken: string;
beforeAll(async () => {
  await docker.ping();
  backupDir = await mkdtemp(join(tmpdir(), 'fleetgate-deletion-backups-'));
  gw = await startGateway({
    runtime: true,
    backups: { dir: backupDir },
    tenantDeletion: { graceSeconds: GRACE_SECONDS, erasureIntervalMs: 0 },
  });
  operatorToken = await gw.operator.token();
});
afterAll(async () => {
  await gw?.close();
  if (backupDir) await rm(backupDir, { recursive: true, force: true });
});

function erasureDeps(testing?: ErasureDeps['testing']): ErasureDeps {
  const home = gw.fleetgate.regions.home;
  return {
    orm: home.orm,
    region: home.name,
    engine: home.engine,
    backupDir: home.backupDir,
    auditKey: gw.keyring.auditKey,
    log: gw.log,
    testing,
  };
}

async function runningAgent(token: string) {
  const name = `agent-${Math.random().toString(36).slice(2, 8)}`;
  const { createAgent } = expectNoErrors(await gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE } }, { token }));
  await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token })),
    (data) => data.agent.status === 'RUNNING',
    60_000,
  );
  return createAgent.agent;
}

/** Waits until this replica's policy feed has applied the tenant's new status (the same fan-out as a freeze). */
async function waitForCode(token: string, code: string | undefined) {
  return waitFor(
    async () => gw.execute(Me, {}, { token }),
    (response) => errorCodes(response)[0] === code,
    5_000,
  );
}

async function requestDeletion(ownerToken: string) {
  const { requestTenantDeletion } = expectNoErrors(await gw.execute(RequestTenantDeletion, {}, { token: ownerToken }));
  expect(requestTenantDeletion.status).toBe('DELETION_PENDING');
  return requestTenantDeletion;
}

/** Rows of the tenant per table, in the tier that holds them, read as the superuser (no wall in the way). */
async function rowsOf(tenantId: string, schema = 'public') {
  const tables = (await adminQuery<{ t: string }>(gw.database.adminUrl, 'select tenant_tables() as t')).rows.map((row) => row.t);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await adminQuery<{ n: number }>(
      gw.database.adminUrl,
      `select count(*)::int as n from ${schema}.${table} where tenant_id = $1`,
      [tenantId],
    );
    counts[table] = rows[0]?.n ?? 0;
  }
  for (const table of ['jobs', 'memory_key_escrow', 'oidc_connections']) {
    const { rows } = await adminQuery<{ n: number }>(
      gw.database.adminUrl,
      `select count(*)::int as n from public.${table} where tenant_id = $1`,
      [tenantId],
    );
    counts[table] = rows[0]?.n ?? 0;
  }
  return counts;
}

async function statusOf(tenantId: string) {
  const { rows } = await adminQuery<{ status: string; name: string }>(
    gw.database.adminUrl,
    'select status, name from tenants where id = $1',
    [tenantId],
  );
  return rows[0];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the grace period', () => {
  test('a deletion request refuses every principal of the tenant but its owner with 403 TENANT_DELETION_PENDING; cancelling restores them', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const admin = await acme.member('ADMIN');
    const key = await acme.apiKey(['AGENTS_READ']);
    // Owners only: an admin's request is refused by the action catalogue.
    expect(errorCodes(await gw.execute(RequestTenantDeletion, {}, { token: admin.token }))).toEqual(['FORBIDDEN']);

    const requested = await requestDeletion(acme.ownerToken);
    const due = Date.parse(requested.deletionDueAt ?? '');
    expect(due - Date.now()).toBeGreaterThan(0);
    expect(due - Date.now()).toBeLessThanOrEqual(GRACE_SECONDS * 1000);

    const refused = await waitForCode(admin.token, 'TENANT_DELETION_PENDING');
    expect(refused.status).toBe(403);
    const byKey = await gw.execute(ListAgents, {}, { token: key.key });
    expect({ status: byKey.status, codes: errorCodes(byKey) }).toEqual({ status: 403, codes: ['TENANT_DELETION_PENDING'] });

    // The owner: no agent, member or other operation, even mixed with an allowed field.
    const create = await gw.execute(CreateRuntimeAgent, { input: { name: 'late', image: REFERENCE_IMAGE } }, { token: acme.ownerToken });
    expect({ status: create.status, codes: errorCodes(create) }).toEqual({ status: 403, codes: ['TENANT_DELETION_PENDING'] });
    const mixed = await gw.execute(TenantAndMe, {}, { token: acme.ownerToken });
    expect(errorCodes(mixed)).toEqual(['TENANT_DELETION_PENDING']);
    // ...but its own tenant's status, and the final signed audit report, verifiable offline.
    expect(expectNoErrors(await gw.execute(OwnTenant, {}, { token: acme.ownerToken })).tenant).toMatchObject({
      status: 'DELETION_PENDING',
    });
    const { exportAuditReport } = expectNoErrors(
      await gw.execute(ExportAuditReport, { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' }, { token: acme.ownerToken }),
    );
    const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}, { token: acme.ownerToken }));
    const report = verifyAuditReport({ ...exportAuditReport, publicKey: publicKeyFromPem(auditSigningKey.publicKeyPem) });
    expect(report.ok).toBe(true);
    expect(exportAuditReport.ndjson).toContain('"action":"tenant.deletion.request"');

    // Operators see it in tenant metadata, and cannot unfreeze it behind the deletion's back.
    const { platformTenants } = expectNoErrors(await gw.execute(OperatorTenants, {}, { token: operatorToken }));
    expect(platformTenants.edges.find((edge) => edge.node.id === acme.id)?.node).toMatchObject({
      status: 'DELETION_PENDING',
      deletionDueAt: requested.deletionDueAt,
    });
    const { tenantDeletion } = expectNoErrors(await gw.execute(TenantDeletion, { tenantId: acme.id }, { token: operatorToken }));
    expect(tenantDeletion).toMatchObject({ step: 'REQUESTED', certificate: null, erasedAt: null });
    expect(errorCodes(await gw.execute(UnfreezeForDeletion, { id: acme.id }, { token: operatorToken }))).toEqual(['CONFLICT']);
    // Another tenant is untouched.
    expect(expectNoErrors(await gw.execute(Me, {}, { token: other.ownerToken })).me).toBeTruthy();

    const { cancelTenantDeletion } = expectNoErrors(await gw.execute(CancelTenantDeletion, {}, { token: acme.ownerToken }));
    expect(cancelTenantDeletion).toMatchObject({ status: 'ACTIVE', deletionDueAt: null });
    await waitForCode(admin.token, undefined);
    expect(errorCodes(await gw.execute(TenantDeletion, { tenantId: acme.id }, { token: operatorToken }))).toEqual(['NOT_FOUND']);
    const { rows } = await adminQuery<{ action: string; actor_id: string }>(
      gw.database.adminUrl,
      "select action, actor_id from audit_events where tenant_id = $1 and action like 'tenant.deletion.%' order by seq",
      [uuidOf(acme.id)],
    );
    expect(rows).toEqual([
      { action: 'tenant.deletion.request', actor_id: uuidOf(acme.ownerId) },
      { action: 'tenant.deletion.cancel', actor_id: uuidOf(acme.ownerId) },
    ]);
  });

  test('the replica that took the request, or the cancel, enforces it from the moment its answer leaves (regression: the console’s next screen was refused after a cancel)', async () => {
    const acme = await gw.seed.tenant();
    for (let round = 0; round < 10; round++) {
      expectNoErrors(await gw.execute(RequestTenantDeletion, {}, { token: acme.ownerToken }));
      expect(errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken })), `round ${round}`).toEqual(['TENANT_DELETION_PENDING']);
      expectNoErrors(await gw.execute(CancelTenantDeletion, {}, { token: acme.ownerToken }));
      expect(errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken })), `round ${round}`).toEqual([]);
    }
  });

  test('the erasure job leaves a deletion alone until its grace period is over, and the owner can still cancel', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent();
    await requestDeletion(acme.ownerToken);
    const ofAcme = async () => (await runTenantErasure(erasureDeps())).filter((outcome) => outcome.tenantId === uuidOf(acme.id));
    expect(await ofAcme()).toEqual([]);
    expect((await rowsOf(uuidOf(acme.id))).agents).toBe(1);
    expectNoErrors(await gw.execute(CancelTenantDeletion, {}, { token: acme.ownerToken }));
    await sleep(GRACE_SECONDS * 1000 + 200);
    expect(await ofAcme()).toEqual([]);
    expect((await rowsOf(uuidOf(acme.id))).agents).toBe(1);
  });
});

describe('erasure', () => {
  let standard: Awaited<ReturnType<typeof seedErasable>>;
  let enterprise: Awaited<ReturnType<typeof seedErasable>>;
  let bystander: Awaited<ReturnType<typeof seedErasable>>;
  let bystanderBefore: Record<string, number>;
  let bystanderEnterpriseBefore: Record<string, number>;
  let bystanderEnterprise: Awaited<ReturnType<typeof seedErasable>>;

  /** A tenant with a running agent (container and volume), a credential, memory (data key and escrow), a sharing key and a backup. */
  async function seedErasable(options: { enterprise?: boolean } = {}) {
    const tenant = await gw.seed.tenant(undefined, options.enterprise ? { enterpriseBy: operatorToken } : {});
    const tenantId = uuidOf(tenant.id);
    const agent = await runningAgent(tenant.ownerToken);
    const agentId = uuidOf(agent.id);
    const container = docker.getContainer(DockerRuntime.containerName(agentId));
    const first = (await container.inspect()).Id;
    expectNoErrors(
      await gw.execute(SetCredential, { agentId: agent.id, name: 'API_TOKEN', value: 'canary-secret-value' }, { token: tenant.ownerToken }),
    );
    // A new credential restarts a running agent (its container recreated) in a job: waited for here, so
    // no restart is still under way when the erasure runs, or when a bystander's container is checked.
    await waitFor(
      () => container.inspect().catch(() => null),
      (info) => info !== null && info.Id !== first && info.State.Running,
      60_000,
    );
    const agentToken = await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id: agentId, tenantId });
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'note', value: '"remember me"' } }, { token: agentToken?.reveal() ?? '' }));
    const schema = options.enterprise ? `tenant_${tenantId.replaceAll('-', '')}` : 'public';
    await asOwner(gw.database.adminUrl, tenantId, [
      `insert into ${schema}.tenant_sharing_keys (tenant_id, provider, wrapped_key) values ('${tenantId}', 'local', 'wrapped-${tenantId}')`,
    ]);
    const backup = await backupTenant(
      { orm: gw.orm, keys: gw.keyProvider, dir: gw.fleetgate.regions.home.backupDir ?? '', log: gw.log },
      { kind: 'operator', operatorId: 'op' },
      tenantId,
    );
    return { ...tenant, tenantId, agentId, schema, backupId: backup.backupId };
  }

  beforeAll(async () => {
    [standard, enterprise, bystander, bystanderEnterprise] = [
      await seedErasable(),
      await seedErasable({ enterprise: true }),
      await seedErasable(),
      await seedErasable({ enterprise: true }),
    ];
    bystanderBefore = await rowsOf(bystander.tenantId);
    bystanderEnterpriseBefore = await rowsOf(bystanderEnterprise.tenantId, bystanderEnterprise.schema);
    await requestDeletion(standard.ownerToken);
    await requestDeletion(enterprise.ownerToken);
    await sleep(GRACE_SECONDS * 1000 + 200);
    const outcomes = await runTenantErasure(erasureDeps());
    // A failed outcome keeps its step and error, so a red run says why.
    const summary = outcomes.map((o) => (o.status === 'erased' ? { tenantId: o.tenantId, status: o.status } : o));
    expect(summary.sort((a, b) => a.tenantId.localeCompare(b.tenantId))).toEqual(
      [standard, enterprise].map(({ tenantId }) => ({ tenantId, status: 'erased' })).sort((a, b) => a.tenantId.localeCompare(b.tenantId)),
    );
  }, 180_000);

  test('removes every row of a standard and an enterprise tenant but its audit log, in its own tier', async () => {
    for (const erased of [standard, enterprise]) {
      const rows = await rowsOf(erased.tenantId, erased.schema);
      const { audit_events: auditEvents, audit_checkpoints: _checkpoints, ...rest } = rows;
      expect(Object.values(rest).every((n) => n === 0)).toBe(true);
      expect(auditEvents).toBeGreaterThan(0);
      expect(await statusOf(erased.tenantId)).toEqual({ status: 'DELETED', name: 'deleted tenant' });
    }
    // Nothing of the enterprise tenant ever sat in the shared tables.
    const shared = await rowsOf(enterprise.tenantId);
    expect(Object.values(shared).every((n) => n === 0)).toBe(true);
  });

  test('destroys every key of the tenant: credentials, memory keys and their escrow, sharing keys, backup archives', async () => {
    for (const erased of [standard, enterprise]) {
      const rows = await rowsOf(erased.tenantId, erased.schema);
      expect(rows).toMatchObject({ agent_credentials: 0, agent_memory_keys: 0, tenant_sharing_keys: 0, memory_key_escrow: 0 });
      const files = await readdir(backupDir);
      expect(files.filter((name) => name.startsWith(erased.tenantId))).toEqual([`${erased.backupId}.shredded`]);
      await expect(
        restoreTenant(
          { orm: gw.orm, keys: gw.keyProvider, dir: backupDir, log: gw.log },
          { kind: 'operator', operatorId: 'op' },
          { backupId: erased.backupId, into: 'NEW' },
        ),
      ).rejects.toThrow();
    }
  });

  test('removes the containers and workspace volumes of the tenant’s agents', async () => {
    for (const erased of [standard, enterprise]) {
      const left = (await gw.engine?.list())?.filter((container) => container.tenantId === erased.tenantId);
      expect(left).toEqual([]);
      await expect(docker.getContainer(DockerRuntime.containerName(erased.agentId)).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(docker.getVolume(DockerRuntime.volumeName(erased.agentId)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
  });

  test('leaves other tenants of both tiers untouched: rows, keys, backups, containers and access', async () => {
    expect(await rowsOf(bystander.tenantId)).toEqual(bystanderBefore);
    expect(await rowsOf(bystanderEnterprise.tenantId, bystanderEnterprise.schema)).toEqual(bystanderEnterpriseBefore);
    expect(bystanderBefore).toMatchObject({
      agents: 1,
      agent_credentials: 1,
      agent_memory_keys: 1,
      tenant_sharing_keys: 1,
      memory_key_escrow: 1,
    });
    for (const kept of [bystander, bystanderEnterprise]) {
      expect(await readdir(backupDir)).toContain(kept.backupId);
      const { State } = await docker.getContainer(DockerRuntime.containerName(kept.agentId)).inspect();
      expect({ running: State.Running, status: State.Status, exitCode: State.ExitCode, oomKilled: State.OOMKilled }).toMatchObject({
        running: true,
      });
      expect(expectNoErrors(await gw.execute(Me, {}, { token: kept.ownerToken })).me).toBeTruthy();
    }
  });

  test('the erased tenant’s tokens are refused with 403 TENANT_DELETED', async () => {
    const response = await waitForCode(standard.ownerToken, 'TENANT_DELETED');
    expect(response.status).toBe(403);
  });

  test('the signed deletion certificate verifies offline, names what was destroyed, and fails when tampered with', async () => {
    const { tenantDeletion } = expectNoErrors(await gw.execute(TenantDeletion, { tenantId: standard.id }, { token: operatorToken }));
    expect(tenantDeletion).toMatchObject({ step: 'CERTIFIED', attempts: 0, lastError: null });
    const file = tenantDeletion.certificate ?? '';
    const publicKey = gw.keyring.auditKey.publicKey;
    const check = verifyDeletionCertificate({ file, publicKey, tenantId: standard.tenantId });
    expect(check.problems).toEqual([]);
    const certificate = check.certificate;
    const [credential] = (
      await adminQuery<{ id: string }>(gw.database.adminUrl, 'select id from agent_credentials where tenant_id = $1', [bystander.tenantId])
    ).rows;
    expect(credential).toBeDefined();
    expect(certificate).toMatchObject({
      format: 'fleetgate-deletion-certificate-v1',
      tenantId: standard.tenantId,
      plan: 'STANDARD',
      region: 'eu-1',
      counts: { containers: 1, volumes: 1, backupArchives: 1, rows: { agents: 1, users: 1, agent_memory: 1 } },
      destroyedKeys: { backupArchives: [standard.backupId], sharingKeys: [expect.stringMatching(/^[0-9a-f]{64}$/)] },
    });
    expect(certificate?.destroyedKeys.credentialKeys).toHaveLength(1);
    expect(certificate?.destroyedKeys.credentialKeys).not.toContain(credential?.id);
    expect(certificate?.destroyedKeys.memoryKeys).toHaveLength(1);
    expect(certificate?.destroyedKeys.memoryKeyEscrow).toEqual(certificate?.destroyedKeys.memoryKeys);
    // The chain head it names is the tenant's last audit event, tenant.erased, and the kept chain still links up to it.
    const { rows: last } = await adminQuery<{ seq: string; hash: string; action: string }>(
      gw.database.adminUrl,
      "select seq::text, encode(hash, 'hex') as hash, action from audit_events where tenant_id = $1 order by seq desc limit 1",
      [standard.tenantId],
    );
    expect(last[0]).toEqual({ seq: certificate?.auditChainHead.seq, hash: certificate?.auditChainHead.hash, action: 'tenant.erased' });
    expect(file).not.toContain('canary-secret-value');
    expect(file).not.toContain(standard.name);

    // Offline, with the CLI and the public key alone.
    const dir = await mkdtemp(join(tmpdir(), 'fleetgate-certificate-'));
    try {
      await writeFile(join(dir, 'certificate.json'), file);
      await writeFile(join(dir, 'public.pem'), gw.keyring.auditKey.publicKeyPem);
      const cli = (...args: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'src/cli/deletion-verify.ts', ...args]).then(
          ({ stdout }) => ({ code: 0, stdout }),
          (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
        );
      const ok = await cli(join(dir, 'certificate.json'), join(dir, 'public.pem'), standard.tenantId);
      expect(ok).toMatchObject({ code: 0, stdout: expect.stringContaining(`deletion certificate OK: tenant ${standard.tenantId}`) });
      // Tampered: fewer rows claimed, or another tenant's certificate passed off as this one's.
      const parsed = JSON.parse(file) as { certificate: string };
      const tampered = { ...parsed, certificate: parsed.certificate.replace('"agents":1', '"agents":0') };
      expect(tampered.certificate).not.toBe(parsed.certificate);
      await writeFile(join(dir, 'tampered.json'), JSON.stringify(tampered));
      const bad = await cli(join(dir, 'tampered.json'), join(dir, 'public.pem'));
      expect(bad).toMatchObject({ code: 1, stdout: expect.stringContaining('signature does not verify') });
      const wrongTenant = await cli(join(dir, 'certificate.json'), join(dir, 'public.pem'), enterprise.tenantId);
      expect(wrongTenant).toMatchObject({ code: 1, stdout: expect.stringContaining('not') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('only operators fetch a certificate; a tenant principal cannot, not even for its own tenant', async () => {
    for (const token of [bystander.ownerToken, (await bystander.member('ADMIN')).token]) {
      expect(errorCodes(await gw.execute(TenantDeletion, { tenantId: standard.id }, { token }))).toEqual(['FORBIDDEN']);
    }
    const { tenantDeletion } = expectNoErrors(await gw.execute(TenantDeletion, { tenantId: enterprise.id }, { token: operatorToken }));
    expect(verifyDeletionCertificate({ file: tenantDeletion.certificate ?? '', publicKey: gw.keyring.auditKey.publicKey })).toMatchObject({
      ok: true,
      certificate: { plan: 'ENTERPRISE', counts: { rows: { agents: 1 } } },
    });
  });
});

describe('failure and resumption', () => {
  test('a step that fails once rolls back its own work; the next run resumes from it and does not redo earlier steps', async () => {
    const acme = await gw.seed.tenant();
    const tenantId = uuidOf(acme.id);
    const agent = await acme.agent();
    expectNoErrors(await gw.execute(SetCredential, { agentId: agent.id, name: 'KEY', value: 'v' }, { token: acme.ownerToken }));
    await requestDeletion(acme.ownerToken);
    await sleep(GRACE_SECONDS * 1000 + 200);

    const seen: ErasureStep[] = [];
    let failed = false;
    const testing = {
      beforeCommit: (step: ErasureStep, id: string) => {
        if (id !== tenantId) return;
        seen.push(step);
        if (step === 'BACKUPS_SHREDDED' && !failed) {
          failed = true;
          throw new Error('injected failure after deleting the rows, before commit');
        }
      },
    };
    const [first] = await runTenantErasure(erasureDeps(testing));
    expect(first).toMatchObject({ tenantId, status: 'failed', step: 'BACKUPS_SHREDDED' });
    expect(seen).toEqual(['REQUESTED', 'ERASING', 'RUNTIME_REMOVED', 'KEYS_DESTROYED', 'BACKUPS_SHREDDED']);
    // Nothing half-done: the rows step rolled back whole; the keys step before it stays done.
    const rows = await rowsOf(tenantId);
    expect(rows).toMatchObject({ agents: 1, users: 1, agent_credentials: 0 });
    const { tenantDeletion } = expectNoErrors(await gw.execute(TenantDeletion, { tenantId: acme.id }, { token: operatorToken }));
    expect(tenantDeletion).toMatchObject({ step: 'BACKUPS_SHREDDED', attempts: 1 });
    expect(tenantDeletion.lastError).toContain('injected failure');
    expect(await statusOf(tenantId)).toMatchObject({ status: 'DELETION_PENDING' });

    seen.length = 0;
    const [second] = await runTenantErasure(erasureDeps(testing));
    expect(second).toMatchObject({ tenantId, status: 'erased' });
    expect(seen).toEqual(['BACKUPS_SHREDDED', 'ROWS_DELETED']);
    const after = await rowsOf(tenantId);
    expect(after).toMatchObject({ agents: 0, users: 0 });
    const certificate =
      second?.status === 'erased'
        ? verifyDeletionCertificate({ file: JSON.stringify(second.certificate), publicKey: gw.keyring.auditKey.publicKey })
        : null;
    // The keys destroyed in the first run are in the certificate of the second.
    expect(certificate?.certificate).toMatchObject({ counts: { rows: { agents: 1 } } });
    expect(certificate?.certificate?.destroyedKeys.credentialKeys).toHaveLength(1);
    // A certified deletion is not run again.
    expect((await runTenantErasure(erasureDeps())).filter((outcome) => outcome.tenantId === tenantId)).toEqual([]);
  });
});

describe('the database holds the line on its own', () => {
  /** The app role, as the gateway connects, in one transaction with the given settings. */
  async function asApp(settings: Record<string, string>, sql: string, params: unknown[] = []) {
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      for (const [name, value] of Object.entries(settings)) await client.query('select set_config($1, $2, true)', [name, value]);
      return await client.query(sql, params);
    } finally {
      await client.query('rollback').catch(() => undefined);
      await client.end();
    }
  }

  test('no erasure function touches a tenant whose deletion is not due, even for an operator transaction', async () => {
    const victim = await gw.seed.tenant();
    const victimId = uuidOf(victim.id);
    await victim.agent();
    for (const fn of ['lock_tenant_deletion', 'destroy_tenant_keys', 'erase_tenant_rows']) {
      await expect(asApp({ 'app.operator': 'on' }, `select ${fn}($1)`, [victimId])).rejects.toThrow(/no deletion of this tenant is due/);
    }
    await expect(
      asApp({ 'app.operator': 'on' }, `select advance_tenant_deletion($1, 'REQUESTED', 'ERASING', '{}')`, [victimId]),
    ).rejects.toThrow(/not at step/);
    // Without the operator setting, not even a due deletion's.
    await expect(asApp({ 'app.tenant_id': victimId }, 'select erase_tenant_rows($1)', [victimId])).rejects.toThrow(/operators only/);
    expect((await rowsOf(victimId)).agents).toBe(1);
  });

  test('a tenant cannot ask for, or cancel, another tenant’s deletion, and a non-owner cannot ask for its own', async () => {
    const attacker = await gw.seed.tenant();
    const victim = await gw.seed.tenant();
    const admin = await attacker.member('ADMIN');
    await expect(
      asApp({ 'app.tenant_id': uuidOf(attacker.id) }, 'select request_tenant_deletion($1, $2, 0)', [
        uuidOf(victim.id),
        uuidOf(victim.ownerId),
      ]),
    ).rejects.toThrow(/not the current tenant/);
    await expect(asApp({ 'app.tenant_id': uuidOf(attacker.id) }, 'select cancel_tenant_deletion($1)', [uuidOf(victim.id)])).rejects.toThrow(
      /not the current tenant/,
    );
    await expect(
      asApp({ 'app.tenant_id': uuidOf(attacker.id) }, 'select request_tenant_deletion($1, $2, 0)', [uuidOf(attacker.id), uuidOf(admin.id)]),
    ).rejects.toThrow(/only an owner asks/);
    // Nor can the app role set a deletion status itself, operator or not.
    await expect(
      asApp({ 'app.operator': 'on' }, "update tenants set status = 'DELETED' where id = $1", [uuidOf(victim.id)]),
    ).rejects.toThrow(/deletion status changes only through its deletion/);
    expect(await statusOf(uuidOf(victim.id))).toMatchObject({ status: 'ACTIVE' });
  });
});

describe('the audit log of an erased tenant', () => {
  test('is kept for its retention, then dropped behind a signed checkpoint by the usual retention job', async () => {
    const { tenantId, ownerId } = await seedTenantWithHistory(gw.database.adminUrl, { count: 20, daysAgo: 400 });
    const token = (await gw.tokens.issue({ kind: 'user', tenantId, userId: ownerId, role: 'OWNER' })).reveal();
    await requestDeletion(token);
    await sleep(GRACE_SECONDS * 1000 + 200);
    const outcomes = await runTenantErasure(erasureDeps());
    expect(outcomes.find((outcome) => outcome.tenantId === tenantId)).toMatchObject({ status: 'erased' });

    const retention = { orm: gw.orm, auditKey: gw.keyring.auditKey, log: gw.log };
    expect(await applyAuditRetention(retention, tenantId)).toEqual({ tenantId, status: 'dropped', throughSeq: '20', dropped: 20 });
    const { rows } = await adminQuery<{ action: string }>(
      gw.database.adminUrl,
      'select action from audit_events where tenant_id = $1 order by seq',
      [tenantId],
    );
    // The young events (request, erasure start, tenant.erased, the retention event itself) stay until their own time comes.
    expect(rows.map((row) => row.action)).toEqual(['tenant.deletion.request', 'tenant.erasure.start', 'tenant.erased', 'audit.retention']);
    const { rows: checkpoints } = await adminQuery<{ seq: string }>(
      gw.database.adminUrl,
      'select seq::text from audit_checkpoints where tenant_id = $1',
      [tenantId],
    );
    expect(checkpoints).toEqual([{ seq: '20' }]);
  });
});
