import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { adminQuery } from './support/database.ts';
import { docker, execIn, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditLog, StartAgent, StopAgent } from './support/operations.ts';

const EXITS_AT_ONCE = ['sh', '-c', 'echo crashing; exit 3'];
/** Takes every task it is offered over the channel and never answers one. */
const NEVER_ANSWERS = [
  'sh',
  '-c',
  'exec 3</run/fleetgate/to-agent 4>/run/fleetgate/from-agent; while :; do echo NEXT >&4; read -r line <&3; done',
];

const CreateLimitedAgent = graphql(`
  mutation CreateLimitedAgent($input: CreateAgentInput!) {
    createAgent(input: $input) { agent { id status } }
  }
`);

const CrashState = graphql(`
  query CrashState($id: ID!) {
    agent(id: $id) { status statusReason runtime { exitCode crashCount startedAt } }
  }
`);

const RunTimedTask = graphql(`
  mutation RunTimedTask($agentId: ID!, $input: String!, $timeoutSeconds: Int) {
    runTask(agentId: $agentId, input: $input, timeoutSeconds: $timeoutSeconds) { task { id status createdAt deadline } }
  }
`);

const TaskState = graphql(`
  query TaskState($id: ID!) {
    task(id: $id) { status result startedAt finishedAt deadline }
  }
`);

const SetTenantQuotas = graphql(`
  mutation SetTenantQuotas($id: ID!, $input: TenantQuotasInput!) {
    setTenantQuotas(id: $id, input: $input) { id quotas { maxAgents maxMemoryMb maxCpuMillis } }
  }
`);

const SetDiskQuota = graphql(`
  mutation SetDiskQuota($id: ID!, $input: TenantQuotasInput!) {
    setTenantQuotas(id: $id, input: $input) { id quotas { maxDiskMb workspaceMb } }
  }
`);

const OwnQuotas = graphql(`
  query OwnQuotas {
    tenant { quotas { maxAgents maxMemoryMb maxCpuMillis } }
  }
`);

const CRASH_LOOP = { maxRestarts: 3, windowSeconds: 60, baseBackoffMs: 100, maxBackoffMs: 400 };
let gw: Gateway;
let operator: string;

beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({
    runtime: { tuning: { crashLoop: CRASH_LOOP, taskTimeoutSeconds: 120, taskSweepMs: 200 } },
    agentImages: [{ image: REFERENCE_IMAGE, commands: [['/bin/agent'], EXITS_AT_ONCE, NEVER_ANSWERS] }],
  });
  operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op-limits' })).reveal();
});
afterAll(() => gw?.close());

async function create(token: string, input: Record<string, unknown>) {
  const name = `agent-${Math.random().toString(36).slice(2, 8)}`;
  return expectNoErrors(
    await gw.execute(CreateLimitedAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb: 16, ...input } }, { token }),
  ).createAgent.agent;
}

async function state(token: string, id: string) {
  return expectNoErrors(await gw.execute(CrashState, { id }, { token })).agent;
}

async function task(token: string, id: string) {
  return expectNoErrors(await gw.execute(TaskState, { id }, { token })).task;
}

describe('crash loops', () => {
  test('a container that exits at once is restarted with growing backoff at most 3 times, then FAILED with the reason', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    // GVISOR (64 MB: the default level's floor). Pinned to RUNC until the gVisor pids cause was found
    // (docs/security-model.md); the backoff is the point here.
    const agent = await create(token, { command: EXITS_AT_ONCE, sandbox: 'GVISOR', memoryMb: 64 });
    const agentId = decodeGlobalId(agent.id).id;
    const reconciler = gw.fleetgate.runtime?.reconciler;
    if (!reconciler) throw new Error('runtime expected');

    // Exits are found by the provisioner (right after a start) or by a reconcile pass, whichever sees them first.
    const failed = await waitFor(
      async () => {
        await reconciler.reconcile();
        return state(token, agent.id);
      },
      (s) => s.statusReason?.startsWith('crash loop') ?? false,
      80_000,
    );
    expect(failed).toMatchObject({
      status: 'FAILED',
      statusReason:
        'crash loop: container exited with code 3; restarted 3 times within 60 s, gave up (startAgent or restartAgent to try again)',
      runtime: { exitCode: 3, crashCount: 4 },
    });

    // One initial converge and three restarts, each after a longer backoff; one container throughout.
    const jobs = await adminQuery<{ status: string; delay_ms: number }>(
      gw.database.adminUrl,
      `select status, round(extract(epoch from run_at - created_at) * 1000)::int as delay_ms
         from jobs where agent_id = $1 order by created_at`,
      [agentId],
    );
    expect(jobs.rows.map((job) => job.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
    const delays = jobs.rows.map((job) => job.delay_ms);
    expect(delays[0]).toBeLessThan(50);
    expect(delays.slice(1).map((ms) => Math.round(ms / 100) * 100)).toEqual([100, 200, 400]);
    const containers = await docker.listContainers({ all: true, filters: { label: [`fleetgate.agent=${agentId}`] } });
    expect(containers).toHaveLength(1);

    // Given up means given up: later passes neither restart it nor rewrite the reason.
    await reconciler.reconcile();
    await reconciler.reconcile();
    expect((await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from jobs where agent_id = $1', [agentId])).rows).toEqual([
      { n: 4 },
    ]);
    expect(await state(token, agent.id)).toMatchObject({ status: 'FAILED', statusReason: failed.statusReason });

    // The tenant asking again starts a fresh count.
    const started = expectNoErrors(await gw.execute(StartAgent, { id: agent.id }, { token })).startAgent.agent;
    expect(started.status).toBe('PROVISIONING');
    expect((await adminQuery(gw.database.adminUrl, 'select crash_count from agents where id = $1', [agentId])).rows).toEqual([
      { crash_count: 0 },
    ]);
    await gw.execute(StopAgent, { id: agent.id }, { token });
  }, 90_000); // four container starts and reconcile passes: seconds each on a loaded machine
});

describe('task timeouts', () => {
  test('a task taken and never answered is TIMED_OUT; a late answer is refused; the agent gets its next task', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    // GVISOR: once pinned to RUNC (a `docker exec` lost its exec instance under load), which fits the
    // gVisor pids cause found later (docs/security-model.md).
    const agent = await create(token, { command: NEVER_ANSWERS, sandbox: 'GVISOR', memoryMb: 64 });
    await waitFor(
      () => state(token, agent.id),
      (s) => s.status === 'RUNNING',
    );
    const first = expectNoErrors(await gw.execute(RunTimedTask, { agentId: agent.id, input: 'stall', timeoutSeconds: 1 }, { token }))
      .runTask.task;
    expect(Date.parse(first.deadline ?? '') - Date.parse(first.createdAt)).toBeGreaterThanOrEqual(999);
    expect(Date.parse(first.deadline ?? '') - Date.parse(first.createdAt)).toBeLessThanOrEqual(1_001);
    const timedOut = await waitFor(
      () => task(token, first.id),
      (t) => t.status !== 'QUEUED' && t.status !== 'RUNNING',
      10_000,
    );
    expect(timedOut).toMatchObject({ status: 'TIMED_OUT', result: null });
    expect(timedOut.startedAt).toBeTruthy(); // it was taken, then never answered
    expect(timedOut.finishedAt).toBeTruthy();

    // The agent answers late, from inside its own container; the next task wakes its pending NEXT.
    const taskId = decodeGlobalId(first.id).id;
    await execIn(agent.id, ['sh', '-c', `echo "RESULT ${taskId} $(echo -n late | base64)" > /run/fleetgate/from-agent`]);
    const second = expectNoErrors(await gw.execute(RunTimedTask, { agentId: agent.id, input: 'next', timeoutSeconds: 30 }, { token }))
      .runTask.task;
    await waitFor(
      async () => gw.logs(),
      (logs) => logs.includes(`"taskId":"${taskId}","ok":false`),
      25_000,
    );
    expect(await task(token, first.id)).toMatchObject({ status: 'TIMED_OUT', result: null });
    expect((await task(token, second.id)).status).toBe('RUNNING'); // not blocked by the first
  }, 45_000);

  test('a task queued for a stopped agent times out without ever being handed out; the agent, started, answers new work', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agent = await create(token, { config: { answers: { ping: 'pong' } } });
    await waitFor(
      () => state(token, agent.id),
      (s) => s.status === 'RUNNING',
    );
    expectNoErrors(await gw.execute(StopAgent, { id: agent.id }, { token }));
    await waitFor(
      () => state(token, agent.id),
      (s) => s.status === 'STOPPED',
    );
    const stale = expectNoErrors(await gw.execute(RunTimedTask, { agentId: agent.id, input: 'ping', timeoutSeconds: 1 }, { token })).runTask
      .task;
    await waitFor(
      () => task(token, stale.id),
      (t) => t.status === 'TIMED_OUT',
      10_000,
    );
    expectNoErrors(await gw.execute(StartAgent, { id: agent.id }, { token }));
    const fresh = expectNoErrors(await gw.execute(RunTimedTask, { agentId: agent.id, input: 'ping' }, { token })).runTask.task;
    // The gateway's default (120 s here) applies when runTask gives none.
    expect(Math.round((Date.parse(fresh.deadline ?? '') - Date.parse(fresh.createdAt)) / 1000)).toBe(120);
    expect(
      await waitFor(
        () => task(token, fresh.id),
        (t) => t.status === 'SUCCEEDED',
        20_000,
      ),
    ).toMatchObject({ result: 'pong' });
    expect(await task(token, stale.id)).toMatchObject({ status: 'TIMED_OUT', startedAt: null, result: null });
  }, 45_000);

  test('the sweep crosses tenants only inside expire_overdue_tasks(): the app role sees no task without its tenant, the function returns ids only', async () => {
    const acme = await gw.seed.tenant();
    const agent = await create(acme.ownerToken, { command: NEVER_ANSWERS });
    expectNoErrors(await gw.execute(RunTimedTask, { agentId: agent.id, input: 'x', timeoutSeconds: 600 }, { token: acme.ownerToken }));
    const app = gw.orm.em.fork();
    expect(await app.execute('select count(*)::int as n from tasks')).toEqual([{ n: 0 }]);
    const { rows } = await adminQuery(
      gw.database.adminUrl,
      `select string_agg(parameter_name, ',' order by ordinal_position) as out from information_schema.parameters
        where specific_name like 'expire_overdue_tasks%' and parameter_mode = 'OUT'`,
    );
    expect(rows).toEqual([{ out: 'task_id,task_tenant_id,task_agent_id' }]);
    // The owner-only policies name the owner role alone.
    const policies = await adminQuery(
      gw.database.adminUrl,
      "select policyname, roles::text from pg_policies where policyname like 'tasks_expire%'",
    );
    expect(policies.rows.map((row) => row.roles)).toEqual(['{fleetgate_owner}', '{fleetgate_owner}']);
    await gw.execute(StopAgent, { id: agent.id }, { token: acme.ownerToken });
  });

  test('a timeout outside 1–86400 seconds is BAD_USER_INPUT and queues nothing', async () => {
    const acme = await gw.seed.tenant();
    const agent = await create(acme.ownerToken, { command: NEVER_ANSWERS });
    for (const timeoutSeconds of [0, 86_401]) {
      const response = await gw.execute(RunTimedTask, { agentId: agent.id, input: 'x', timeoutSeconds }, { token: acme.ownerToken });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toContain('timeoutSeconds');
    }
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from tasks where agent_id = $1', [
      decodeGlobalId(agent.id).id,
    ]);
    expect(rows).toEqual([{ n: 0 }]);
    await gw.execute(StopAgent, { id: agent.id }, { token: acme.ownerToken });
  });
});

describe('quotas set by operators', () => {
  test('an operator sets quotas; the tenant sees them, is held to them, and finds the change in its audit log', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const set = expectNoErrors(
      await gw.execute(SetTenantQuotas, { id: acme.id, input: { maxAgents: 1, maxMemoryMb: 40 } }, { token: operator }),
    );
    expect(set.setTenantQuotas.quotas).toEqual({ maxAgents: 1, maxMemoryMb: 40, maxCpuMillis: 64_000 });
    expect(expectNoErrors(await gw.execute(OwnQuotas, {}, { token })).tenant?.quotas).toEqual(set.setTenantQuotas.quotas);

    const tooBig = await gw.execute(CreateLimitedAgent, { input: { name: 'big', image: REFERENCE_IMAGE, memoryMb: 64 } }, { token });
    expect(errorCodes(tooBig)).toEqual(['QUOTA_EXCEEDED']);
    expect(tooBig.errors?.[0]?.message).toBe('Quota exceeded: this tenant may run at most 40 MB of agent memory in total');
    const one = await create(token, { command: EXITS_AT_ONCE });
    const second = await gw.execute(CreateLimitedAgent, { input: { name: 'second', image: REFERENCE_IMAGE, memoryMb: 16 } }, { token });
    expect(second.errors?.[0]?.message).toBe('Quota exceeded: this tenant may run at most 1 agents');
    await gw.execute(StopAgent, { id: one.id }, { token });

    const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 50, filter: { action: 'tenant.quotas' } }, { token }));
    expect(auditLog.edges.map((edge) => edge.node)).toMatchObject([
      {
        actorType: 'OPERATOR',
        actorId: 'op-limits',
        detail: {
          before: { maxAgents: 200, maxMemoryMb: 16_384, maxCpuMillis: 64_000 },
          after: { maxAgents: 1, maxMemoryMb: 40, maxCpuMillis: 64_000 },
        },
      },
    ]);
  });

  test('a create past the total workspace disk is refused with QUOTA_EXCEEDED before any container exists', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const disk = expectNoErrors(
      await gw.execute(SetDiskQuota, { id: acme.id, input: { maxDiskMb: 30, workspaceMb: 24 } }, { token: operator }),
    );
    expect(disk.setTenantQuotas.quotas).toEqual({ maxDiskMb: 30, workspaceMb: 24 });
    const first = await create(token, {});
    await waitFor(
      () => state(token, first.id),
      (agent) => agent.status === 'RUNNING',
      30_000,
    );
    const refused = await gw.execute(CreateLimitedAgent, { input: { name: 'no-room', image: REFERENCE_IMAGE, memoryMb: 16 } }, { token });
    expect(errorCodes(refused)).toEqual(['QUOTA_EXCEEDED']);
    expect(refused.errors?.[0]?.message).toBe('Quota exceeded: this tenant may run at most 30 MB of workspace disk in total');
    const tenantId = decodeGlobalId(acme.id).id;
    const containers = await docker.listContainers({ all: true, filters: { label: [`fleetgate.tenant=${tenantId}`] } });
    expect(containers).toHaveLength(1); // the first agent's; nothing for the refused one
    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select count(*)::int as n from agents where tenant_id = $1 and name = 'no-room'",
      [tenantId],
    );
    expect(rows[0]?.n).toBe(0);
  });

  test('only operators: the tenant is FORBIDDEN, and even in SQL its own transaction cannot raise its quota', async () => {
    const acme = await gw.seed.tenant();
    const admin = await acme.member('ADMIN');
    const member = await acme.member('MEMBER');
    const raiseInput = { id: acme.id, input: { maxAgents: 10_000 } };
    for (const token of [acme.ownerToken, admin.token, member.token]) {
      expect(errorCodes(await gw.execute(SetTenantQuotas, raiseInput, { token }))).toEqual(['FORBIDDEN']);
    }
    expect(errorCodes(await gw.execute(SetTenantQuotas, raiseInput))).toEqual(['UNAUTHENTICATED']);
    const raise = gw.orm.em.fork().transactional(async (tx) => {
      await tx.execute("select set_config('app.tenant_id', ?, true)", [decodeGlobalId(acme.id).id]);
      await tx.execute('update tenants set max_agents = 10000');
    });
    await expect(raise).rejects.toMatchObject({ code: '42501' });
    expect(expectNoErrors(await gw.execute(OwnQuotas, {}, { token: acme.ownerToken })).tenant?.quotas.maxAgents).toBe(200);
  });

  test('bad input is a clear BAD_USER_INPUT naming the field; an unknown tenant is NOT_FOUND', async () => {
    const acme = await gw.seed.tenant();
    const cases: [Record<string, unknown>, string][] = [
      [{ maxAgents: -1 }, 'maxAgents'],
      [{ maxMemoryMb: 16 * 1024 * 1024 + 1 }, 'maxMemoryMb'],
      [{}, 'give at least one quota'],
    ];
    for (const [input, mention] of cases) {
      const response = await gw.execute(SetTenantQuotas, { id: acme.id, input }, { token: operator });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toContain(mention);
    }
    const missing = await gw.execute(
      SetTenantQuotas,
      { id: encodeGlobalId('Tenant', '01a20000-0000-7000-8000-0000000000ff'), input: { maxAgents: 5 } },
      { token: operator },
    );
    expect(errorCodes(missing)).toEqual(['NOT_FOUND']);
  });
});
