import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CANARY_REQUEST_ID_PREFIX } from '../src/modules/policy/isolation-canary.ts';
import { graphql } from './gql/index.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { Me, PlatformTenants } from './support/operations.ts';

const IsolationCanary = graphql(`query IsolationCanaryRun { isolationCanary { ranAt outcome } }`);

describe('isolation canary', () => {
  let gw: Gateway;
  let operator: string;
  beforeAll(async () => {
    gw = await startGateway({ canary: true });
    operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  });
  afterAll(() => gw?.close());

  test('on an intact database the canary finds nothing and the gateway stays healthy', async () => {
    expect(await gw.fleetgate.canary.runOnce()).toEqual({ exposures: [] });
    expect((await gw.yoga.fetch('http://gateway.test/health')).status).toBe(200);
    const { platformTenants } = expectNoErrors(await gw.execute(PlatformTenants, { first: 10 }, { token: operator }));
    expect(platformTenants.edges.map((edge) => edge.node.name)).toEqual(['__canary-a', '__canary-b']);
  });

  test('the API probes log under one request id that names the canary, with their operations’ names', async () => {
    const before = gw.logs().length;
    await gw.fleetgate.canary.runOnce();
    const probes = gw
      .logs()
      .slice(before)
      .split('\n')
      .filter((line) => line.includes('"operation executed"'))
      .map((line) => JSON.parse(line) as { requestId: string; operation: string; errors: string[] })
      .filter((line) => line.requestId.startsWith(CANARY_REQUEST_ID_PREFIX));
    expect(probes.map((line) => line.operation).sort()).toEqual(['GetAgent', 'ListAgents', 'UpdateAgentRecord']);
    expect(new Set(probes.map((line) => line.requestId)).size).toBe(1);
    expect(probes.find((line) => line.operation === 'UpdateAgentRecord')?.errors).toEqual(['NOT_FOUND']);
  });

  test('members read the last run (when and its outcome, nothing more); operators and anonymous callers do not', async () => {
    const acme = await gw.seed.tenant();
    const viewer = await acme.member('VIEWER');
    const before = Date.now();
    await gw.fleetgate.canary.runOnce();
    const { isolationCanary } = expectNoErrors(await gw.execute(IsolationCanary, {}, { token: viewer.token }));
    expect(isolationCanary?.outcome).toBe('OK');
    expect(Date.parse(isolationCanary?.ranAt ?? '')).toBeGreaterThanOrEqual(before - 1_000);
    expect(errorCodes(await gw.execute(IsolationCanary, {}, { token: operator }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(IsolationCanary, {}))).toEqual(['UNAUTHENTICATED']);
  });

  test('an injected permissive policy is detected and every tenant is refused within a second', async () => {
    const bystander = await gw.seed.tenant();
    expectNoErrors(await gw.execute(Me, {}, { token: bystander.ownerToken }));

    // The attack on wall 3: someone adds a policy that opens agents to every tenant.
    await adminQuery(gw.database.adminUrl, 'create policy oops on agents for select using (true)');
    const started = performance.now();
    const result = await gw.fleetgate.canary.runOnce();
    // The API still holds (the ORM filter and scopes are intact); the database wall does not.
    expect(result.exposures).toEqual(['database: A read B’s agents under A’s RLS setting']);

    const refused = await gw.execute(Me, {}, { token: bystander.ownerToken });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(refused.status).toBe(503);
    expect(errorCodes(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    const health = await gw.yoga.fetch('http://gateway.test/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'locked-down', ready: false });

    // The canary tenants are frozen and the finding is in canary A's audit log; the alert is logged.
    const { platformTenants } = expectNoErrors(await gw.execute(PlatformTenants, { first: 10 }, { token: operator }));
    const statuses = platformTenants.edges.map((edge) => [edge.node.name, edge.node.status]);
    expect(statuses.filter(([name]) => name?.startsWith('__canary'))).toEqual([
      ['__canary-a', 'FROZEN'],
      ['__canary-b', 'FROZEN'],
    ]);
    const { rows } = await adminQuery(gw.database.adminUrl, "select outcome, detail from audit_events where action = 'isolation.exposure'");
    expect(rows).toHaveLength(2);
    expect(rows[0]?.outcome).toBe('FAILED');
    expect(gw.logs()).toContain('ISOLATION EXPOSURE');
    const metrics = await gw.yoga.fetch('http://gateway.test/metrics', { headers: { authorization: `Bearer ${operator}` } });
    expect(await metrics.text()).toMatch(/fleetgate_canary_runs_total\{result="exposed"\} 1/);
  });
});

describe('catalog guarantees checked by the canary', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ canary: true });
  });
  afterAll(() => gw?.close());

  test('RLS no longer forced on a tenant table is an exposure', async () => {
    await adminQuery(gw.database.adminUrl, 'alter table api_keys no force row level security');
    const result = await gw.fleetgate.canary.runOnce();
    expect(result.exposures).toEqual(['RLS not enabled and forced on api_keys']);
    expect(gw.fleetgate.gate.lockedDown).toBe(true);
  });
});

describe('metrics', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  test('/metrics is for operators and counts operations, denials and cross-tenant lookups without a tenant label', async () => {
    const acme = await gw.seed.tenant();
    const other = await gw.seed.tenant();
    const foreign = await other.agent();
    const { AgentById } = await import('./support/operations.ts');
    await gw.execute(AgentById, { id: foreign.id }, { token: acme.ownerToken });
    expect((await gw.yoga.fetch('http://gateway.test/metrics')).status).toBe(401);
    expect((await gw.yoga.fetch('http://gateway.test/metrics', { headers: { authorization: `Bearer ${acme.ownerToken}` } })).status).toBe(
      403,
    );

    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    const text = await (await gw.yoga.fetch('http://gateway.test/metrics', { headers: { authorization: `Bearer ${operator}` } })).text();
    expect(text).toContain('fleetgate_cross_tenant_attempts_total{principal="user"} 1');
    expect(text).toContain('fleetgate_denials_total{code="NOT_FOUND"} 1');
    expect(text).toMatch(/fleetgate_operations_total\{outcome="denied"\} 1/);
    expect(text).toMatch(
      /fleetgate_operation_duration_seconds_count\{operation_type="query",operation_name="AgentById",outcome="denied"\} 1/,
    );
    // Cardinality and disclosure: no tenant id (nor any other id) labels a series.
    const tenantId = Buffer.from(acme.id, 'base64').toString().split(':')[1] as string;
    expect(text).not.toContain(tenantId);
    expect(text).not.toContain('tenant=');
  });
});
