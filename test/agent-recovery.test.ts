import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { defaultSandbox } from '../src/modules/provisioning/provisioner.service.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentLogs, AgentRuntimeState, CreateRuntimeAgent } from './support/operations.ts';

/** Nothing lost, nothing orphaned: crashed workers, vanished and orphaned containers, an engine that is down. */
describe('durable provisioning', () => {
  let gw: Gateway;
  beforeAll(async () => {
    await docker.ping();
    gw = await startGateway({ runtime: { manualJobs: true } });
  });
  afterAll(() => gw?.close());

  test('a job whose worker died mid-provision (container created, never started) resumes and adopts the container', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const { createAgent } = expectNoErrors(
      await gw.execute(CreateRuntimeAgent, { input: { name: 'phoenix', image: REFERENCE_IMAGE } }, { token }),
    );
    const agentId = decodeGlobalId(createAgent.agent.id).id;
    const tenantId = decodeGlobalId(acme.id).id;
    const runtime = gw.fleetgate.runtime;
    if (!runtime || !gw.engine) throw new Error('runtime expected');

    // A worker claims the job with a 1-second lease, creates the container, and dies before starting it.
    const [claim] = await gw.orm.em.fork().execute<{ job_id: string }[]>("select * from claim_job('dead-worker', 1)");
    expect(claim).toBeDefined();
    await runtime.channels.reset(tenantId, agentId);
    const orphanId = await gw.engine.create({
      tenantId,
      agentId,
      image: runtime.reference.tag,
      command: null,
      memoryMb: 64,
      cpuMillis: 250,
      channelDir: runtime.channels.dirOf(agentId),
      // The level the dead worker had chosen for this agent (the default: GVISOR where offered).
      sandbox: defaultSandbox(await gw.engine.sandboxLevels(), { egress: false, memory_mb: 64 }),
    });
    // While the lease holds nobody else takes the job.
    expect(await runtime.worker.runOne()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await runtime.worker.runOne()).toBe(true);

    const { agent } = expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token }));
    expect(agent.status).toBe('RUNNING');
    expect((await containerOf(createAgent.agent.id).inspect()).Id).toBe(orphanId); // adopted, not duplicated
    const jobs = await adminQuery(gw.database.adminUrl, 'select status, attempts from jobs where agent_id = $1', [agentId]);
    expect(jobs.rows).toEqual([{ status: 'DONE', attempts: 2 }]);
  });

  test('jobs run under their tenant: a job row of tenant B is invisible to tenant A and to the app role without a tenant', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    expectNoErrors(await gw.execute(CreateRuntimeAgent, { input: { name: 'b-agent', image: REFERENCE_IMAGE } }, { token: b.ownerToken }));
    const app = gw.orm.em.fork();
    expect(await app.execute('select count(*)::int as n from jobs')).toEqual([{ n: 0 }]);
    const asA = await app.transactional(async (tx) => {
      await tx.execute("select set_config('app.tenant_id', ?, true)", [decodeGlobalId(a.id).id]);
      return tx.execute('select count(*)::int as n from jobs');
    });
    expect(asA).toEqual([{ n: 0 }]);
    // Only the owner-only claim function crosses tenants, and it returns ids, nothing else.
    const columns = await adminQuery(
      gw.database.adminUrl,
      "select string_agg(parameter_name, ',' order by ordinal_position) as out from information_schema.parameters where specific_name like 'claim_job%' and parameter_mode = 'OUT'",
    );
    expect(columns.rows[0]).toEqual({ out: 'job_id,job_tenant_id' });
    while (await gw.fleetgate.runtime?.worker.runOne()) {} // drain so the next tests start clean
  });
});

describe('reconciler', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ runtime: true });
  });
  afterAll(() => gw?.close());

  test('a container without a live agent is removed; a vanished container is marked and provisioned again', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const runtime = gw.fleetgate.runtime;
    if (!runtime || !gw.engine) throw new Error('runtime expected');
    const { createAgent } = expectNoErrors(
      await gw.execute(CreateRuntimeAgent, { input: { name: 'keeper', image: REFERENCE_IMAGE } }, { token }),
    );
    const id = createAgent.agent.id;
    const first = await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent,
      (agent) => agent.status === 'RUNNING',
    );

    // An orphan: labelled as this instance and tenant, but no such agent exists.
    const ghost = '01a20000-0000-7000-8000-000000000001';
    await runtime.channels.reset(decodeGlobalId(acme.id).id, ghost).catch(() => undefined);
    await gw.engine.create({
      tenantId: decodeGlobalId(acme.id).id,
      agentId: ghost,
      image: runtime.reference.tag,
      command: null,
      memoryMb: 16,
      cpuMillis: 10,
      channelDir: runtime.channels.dirOf(ghost),
    });
    // The live agent's container vanishes behind the gateway's back.
    await containerOf(id).remove({ force: true });

    const report = await runtime.reconciler.reconcile();
    expect(report.removedOrphans).toEqual([ghost]);
    expect(report.restarted).toEqual([decodeGlobalId(id).id]);
    expect(await gw.engine.inspect(ghost)).toBeNull();
    const marked = expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent;
    expect(marked.status === 'FAILED' || marked.status === 'RUNNING').toBe(true);

    const back = await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent,
      (agent) => agent.status === 'RUNNING' && agent.runtime.startedAt !== first.runtime.startedAt,
    );
    expect(back.statusReason).toBeNull();
    expect((await containerOf(id).inspect()).State.Running).toBe(true);
  });
});

describe('engine unreachable', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ runtime: { socketPath: '/nonexistent/docker.sock' } });
  });
  afterAll(() => gw?.close());

  test('createAgent answers with a queued agent, the job retries with backoff and nothing is half-created', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const { createAgent } = expectNoErrors(
      await gw.execute(CreateRuntimeAgent, { input: { name: 'patient', image: REFERENCE_IMAGE } }, { token }),
    );
    expect(createAgent.agent.status).toBe('PROVISIONING');
    const agent = await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token })).agent,
      (state) => state.statusReason !== null,
    );
    expect(agent).toMatchObject({ status: 'PROVISIONING', statusReason: 'container engine unreachable; retrying' });
    // Between attempts the job waits, queued for later (read it there: mid-attempt it is RUNNING).
    const job = await waitFor(
      async () =>
        (
          await adminQuery(
            gw.database.adminUrl,
            'select status, attempts, run_at > now() as later, last_error from jobs where agent_id = $1',
            [decodeGlobalId(createAgent.agent.id).id],
          )
        ).rows[0],
      (row) => row?.status === 'QUEUED' && row.later === true && row.attempts >= 2,
    );
    expect(job?.last_error).toContain('container engine unreachable');
    // The real engine holds nothing for this agent.
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`fleetgate.agent=${decodeGlobalId(createAgent.agent.id).id}`] },
    });
    expect(found).toEqual([]);
    // Reading logs says plainly why there are none.
    const logs = await gw.execute(AgentLogs, { id: createAgent.agent.id }, { token });
    expect(errorCodes(logs)).toEqual(['SERVICE_UNAVAILABLE']);
  });
});
