import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import {
  AgentLogs,
  AgentRuntimeState,
  AgentTasks,
  CreateRuntimeAgent,
  DeleteAgent,
  RestartAgent,
  RunTask,
  StartAgent,
  StopAgent,
  TaskById,
} from './support/operations.ts';

// No skip when Docker is missing: these tests exist to run against the real engine, so they fail without one.
let gw: Gateway;
beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
});
afterAll(() => gw?.close());

async function runningAgent(token: string, input: Record<string, unknown> = {}) {
  const name = `agent-${Math.random().toString(36).slice(2, 8)}`;
  const { createAgent } = expectNoErrors(
    await gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, ...input } }, { token }),
  );
  expect(createAgent.agent).toMatchObject({ status: 'PROVISIONING', desiredState: 'RUNNING' });
  return waitStatus(token, createAgent.agent.id, 'RUNNING');
}

async function waitStatus(token: string, id: string, status: string) {
  const { agent } = await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })),
    (data) => data.agent.status === status,
  );
  return agent;
}

describe('provisioning', () => {
  test('createAgent runs a hardened container: the engine confirms every setting', async () => {
    const acme = await gw.seed.tenant();
    // RUNC asked for: the host's view of every setting (GVISOR's differences: agent-sandbox.test.ts).
    const agent = await runningAgent(acme.ownerToken, { memoryMb: 48, cpuMillis: 200, sandbox: 'RUNC' });
    expect(agent.runtime).toMatchObject({ memoryMb: 48, cpuMillis: 200, pidsLimit: 128, exitCode: null });
    expect(agent.runtime.image).toMatch(/^fleetgate\/agent:[0-9a-f]{16}$/);

    expect(agent.sandbox).toEqual({ requested: 'RUNC', runtime: 'RUNC', network: 'NONE', workspaceMb: 1024, scratchMb: 16 });
    const info = await containerOf(agent.id).inspect();
    const host = info.HostConfig;
    expect(host).toMatchObject({
      Runtime: 'runc',
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      PidsLimit: 128,
      Memory: 48 * 1024 * 1024,
      MemorySwap: 48 * 1024 * 1024,
      NanoCpus: 200_000_000,
      IpcMode: 'private',
      PidMode: '',
      UTSMode: '',
      UsernsMode: '',
    });
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.Tmpfs).toEqual({ '/tmp': 'rw,noexec,nosuid,nodev,size=16m' });
    expect(info.Config.User).toBe('65534:65534');
    expect(info.Config.Labels).toMatchObject({
      'fleetgate.tenant': decodeGlobalId(acme.id).id,
      'fleetgate.agent': decodeGlobalId(agent.id).id,
    });
    // No environment beyond what the image itself sets (PATH): nothing a secret could hide in.
    expect((info.Config.Env ?? []).filter((entry) => !entry.startsWith('PATH='))).toEqual([]);
    // Exactly two mounts: its own workspace volume and its own channel directory. Never the Docker socket.
    const mounts = info.Mounts.map((m) => ({ type: m.Type, destination: m.Destination, rw: m.RW, name: m.Name }));
    expect(mounts.sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([
      { type: 'bind', destination: '/run/fleetgate', rw: false, name: undefined },
      { type: 'volume', destination: '/workspace', rw: true, name: DockerRuntime.volumeName(decodeGlobalId(agent.id).id) },
    ]);
    expect(JSON.stringify(info)).not.toContain('docker.sock');

    // And from inside: no capabilities, no new privileges, only loopback, read-only root, not root.
    const status = await execIn(agent.id, ['cat', '/proc/self/status']);
    expect(status.output).toMatch(/CapEff:\s+0000000000000000/);
    expect(status.output).toMatch(/CapBnd:\s+0000000000000000/);
    expect(status.output).toMatch(/NoNewPrivs:\s+1/);
    expect((await execIn(agent.id, ['ls', '/sys/class/net'])).output.trim()).toBe('lo');
    expect((await execIn(agent.id, ['id', '-u'])).output.trim()).toBe('65534');
    const write = await execIn(agent.id, ['touch', '/bin/evil']);
    expect(write.exitCode).not.toBe(0);
    // gVisor checks the owner (root) before the read-only mount; the host kernel the other way round.
    expect(write.output).toMatch(/Read-only file system|Permission denied/);
    expect((await execIn(agent.id, ['touch', '/workspace/notes'])).exitCode).toBe(0);
    expect((await execIn(agent.id, ['touch', '/tmp/scratch'])).exitCode).toBe(0);
  });

  test('a task reaches the agent over its channel and its answer lands on the task', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agent = await runningAgent(token, { config: { answers: { 'what is fleetgate?': 'a gateway for agents' }, fallback: 'no idea' } });
    const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: agent.id, input: 'what is fleetgate?' }, { token }));
    expect(runTask.task).toMatchObject({ status: 'QUEUED', input: 'what is fleetgate?', result: null });
    const answered = await waitFor(
      async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token })).task,
      (task) => task.status === 'SUCCEEDED',
      10_000,
    );
    expect(answered).toMatchObject({ agentId: agent.id, result: 'a gateway for agents' });
    expect(answered.startedAt).toBeTruthy();

    const { runTask: unknown } = expectNoErrors(await gw.execute(RunTask, { agentId: agent.id, input: 'meaning of life?' }, { token }));
    await waitFor(
      async () => expectNoErrors(await gw.execute(TaskById, { id: unknown.task.id }, { token })).task,
      (task) => task.status === 'SUCCEEDED' && task.result === 'no idea',
      10_000,
    );
    const { agent: withTasks } = expectNoErrors(await gw.execute(AgentTasks, { id: agent.id }, { token }));
    expect(withTasks.tasks.edges.map((edge) => edge.node.result)).toEqual(['a gateway for agents', 'no idea']);

    const logs = expectNoErrors(await gw.execute(AgentLogs, { id: agent.id, tail: 20 }, { token })).agent.logs;
    expect(logs).toContain('agent up as uid 65534');
    expect(logs).toContain(`answered task ${decodeGlobalId(runTask.task.id).id}`);

    // Another tenant cannot read the task, or queue work for the agent: same answer as a missing one.
    const other = await gw.seed.tenant();
    expect(errorCodes(await gw.execute(TaskById, { id: runTask.task.id }, { token: other.ownerToken }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(RunTask, { agentId: agent.id, input: 'hi' }, { token: other.ownerToken }))).toEqual(['NOT_FOUND']);
  });

  test('stop, start, restart and delete drive the real container', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agent = await runningAgent(token);
    const firstStart = agent.runtime.startedAt;

    expectNoErrors(await gw.execute(StopAgent, { id: agent.id }, { token }));
    const stopped = await waitStatus(token, agent.id, 'STOPPED');
    // The agent handles SIGTERM: no 10-second kill (137). Under GVISOR (the default) the engine may
    // report the SIGTERM itself (143) instead of the agent's 0 (docs/security-model.md).
    expect([0, 143]).toContain(stopped.runtime.exitCode);
    expect((await containerOf(agent.id).inspect()).State.Running).toBe(false);

    expectNoErrors(await gw.execute(StartAgent, { id: agent.id }, { token }));
    await waitStatus(token, agent.id, 'RUNNING');
    expect((await containerOf(agent.id).inspect()).State.Running).toBe(true);

    await execIn(agent.id, ['sh', '-c', 'echo kept > /workspace/memo']);
    const { restartAgent } = expectNoErrors(await gw.execute(RestartAgent, { id: agent.id }, { token }));
    expect(restartAgent.agent.status).toBe('PROVISIONING');
    const restarted = await waitStatus(token, agent.id, 'RUNNING');
    expect(new Date(restarted.runtime.startedAt ?? 0).getTime()).toBeGreaterThan(new Date(firstStart ?? 0).getTime());
    expect((await execIn(agent.id, ['cat', '/workspace/memo'])).output.trim()).toBe('kept'); // the workspace survives a restart

    expectNoErrors(await gw.execute(DeleteAgent, { id: agent.id }, { token }));
    const agentId = decodeGlobalId(agent.id).id;
    await waitFor(
      async () => (await docker.listContainers({ all: true, filters: { label: [`fleetgate.agent=${agentId}`] } })).length,
      (count) => count === 0,
    );
    const volumes = await docker.listVolumes({ filters: { name: [DockerRuntime.volumeName(agentId)] } });
    expect(volumes.Volumes ?? []).toEqual([]);
  });
});

describe('operator controls', () => {
  test('images and commands come from the allow-list', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const notListed = await gw.execute(CreateRuntimeAgent, { input: { name: 'x', image: 'busybox:latest' } }, { token });
    expect(notListed.errors?.[0]).toMatchObject({ message: 'image is not on the allow-list', extensions: { code: 'BAD_USER_INPUT' } });
    const badCommand = await gw.execute(
      CreateRuntimeAgent,
      { input: { name: 'y', image: REFERENCE_IMAGE, command: ['/bin/sh', '-c', 'cat /etc/passwd'] } },
      { token },
    );
    expect(badCommand.errors?.[0]).toMatchObject({
      message: 'command is not allowed for this image',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const allowed = await runningAgent(token, { command: ['/bin/agent'] });
    expect(allowed.runtime.command).toEqual(['/bin/agent']);
  });

  test('quotas: agents, memory and CPU per tenant are a clear error, and nothing is created', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    await adminQuery(gw.database.adminUrl, 'update tenants set max_agents = 2, max_memory_mb = 100, max_cpu_millis = 400 where id = $1', [
      decodeGlobalId(acme.id).id,
    ]);
    const create = (name: string, memoryMb: number, cpuMillis: number) =>
      gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb, cpuMillis } }, { token });
    expectNoErrors(await create('one', 64, 100));
    const memory = await create('two', 64, 100);
    expect(memory.errors?.[0]).toMatchObject({
      message: 'Quota exceeded: this tenant may run at most 100 MB of agent memory in total',
      extensions: { code: 'QUOTA_EXCEEDED' },
    });
    expect(errorCodes(await create('two', 16, 400))).toEqual(['QUOTA_EXCEEDED']);
    expectNoErrors(await create('two', 16, 100));
    expect((await create('three', 16, 10)).errors?.[0]?.message).toBe('Quota exceeded: this tenant may run at most 2 agents');
    const jobs = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from jobs where tenant_id = $1', [
      decodeGlobalId(acme.id).id,
    ]);
    expect(jobs.rows[0]).toEqual({ n: 2 }); // refused creates queued nothing
  });
});

describe('freeze', () => {
  test('freezing a tenant stops its running agents; unfreezing brings them back', async () => {
    const acme = await gw.seed.tenant();
    const agent = await runningAgent(acme.ownerToken);

    await gw.operator.freeze(acme.id, 'runtime test');
    // The tenant cannot look (it is frozen): ask the engine and the database.
    await waitFor(
      async () => (await containerOf(agent.id).inspect()).State.Running,
      (running) => !running,
    );
    const agentId = decodeGlobalId(agent.id).id;
    const row = await waitFor(
      async () =>
        (await adminQuery(gw.database.adminUrl, 'select status, status_reason, desired_state from agents where id = $1', [agentId]))
          .rows[0],
      (value) => value?.status === 'STOPPED',
    );
    expect(row).toEqual({ status: 'STOPPED', status_reason: 'tenant frozen', desired_state: 'RUNNING' });

    await gw.operator.unfreeze(acme.id);
    await waitFor(
      async () => (await gw.execute(AgentRuntimeState, { id: agent.id }, { token: acme.ownerToken })).data?.agent.status,
      (status) => status === 'RUNNING',
    );
    expect((await containerOf(agent.id).inspect()).State.Running).toBe(true);

    // Provisioning outcomes are counted (by kind, never by tenant): create, the freeze's stop and the unfreeze's start.
    const metrics = await gw.yoga.fetch('http://gateway.test/metrics', {
      headers: { authorization: `Bearer ${await gw.operator.token()}` },
    });
    const line = (await metrics.text())
      .split('\n')
      .find((text) => text.startsWith('fleetgate_provisioning_jobs_total{kind="agent.converge",outcome="ok"}'));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(3);
  });
});
