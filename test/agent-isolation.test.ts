import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ADMIN_URL } from './support/database.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent, ListAgents, RestartAgent, RunTask, TaskById } from './support/operations.ts';

/** Wall 4 alone: agent A of tenant A against agent B of tenant B, attacked from inside A's container. */
let gw: Gateway;
let a: { id: string; token: string };
let b: { id: string; token: string };

beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
  const start = async (tenantName: string) => {
    const tenant = await gw.seed.tenant(tenantName);
    const { createAgent } = expectNoErrors(
      await gw.execute(
        CreateRuntimeAgent,
        { input: { name: 'agent', image: REFERENCE_IMAGE, memoryMb: 32, config: { answers: { ping: 'pong' } } } },
        { token: tenant.ownerToken },
      ),
    );
    await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token: tenant.ownerToken })).agent,
      (agent) => agent.status === 'RUNNING',
    );
    return { id: createAgent.agent.id, token: tenant.ownerToken };
  };
  [a, b] = await Promise.all([start('tenant-a'), start('tenant-b')]);
  await execIn(b.id, ['sh', '-c', 'echo b-secret-notes > /workspace/secret-b']);
});
afterAll(() => gw?.close());

async function answers(agent: { id: string; token: string }, timeoutMs = 10_000) {
  const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: agent.id, input: 'ping' }, { token: agent.token }));
  const task = await waitFor(
    async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token: agent.token })).task,
    (t) => t.status === 'SUCCEEDED',
    timeoutMs,
  );
  return task.result;
}

describe('agent A cannot see B', () => {
  test("files: B's workspace file is nowhere in A's filesystem", async () => {
    const found = await execIn(a.id, [
      'sh',
      '-c',
      'find / -xdev -name secret-b 2>/dev/null; grep -rl b-secret-notes /workspace /tmp 2>/dev/null; true',
    ]);
    expect(found.output.trim()).toBe('');
    expect((await execIn(b.id, ['cat', '/workspace/secret-b'])).output.trim()).toBe('b-secret-notes');
  });

  test("processes: A's process list holds only its own processes", async () => {
    const ps = await execIn(a.id, ['ps', '-o', 'pid,user,args']);
    const lines = ps.output.trim().split('\n').slice(1);
    expect(lines.length).toBeLessThanOrEqual(4); // the agent's shell, its read, and this ps
    expect(ps.output).not.toContain('dockerd');
    expect(ps.output).not.toContain('postgres');
  });

  test("channels: A's /run/fleetgate holds its own two FIFOs, and no mount names B", async () => {
    expect((await execIn(a.id, ['ls', '/run/fleetgate'])).output.trim().split(/\s+/)).toEqual(['from-agent', 'to-agent']);
    const mounts = (await execIn(a.id, ['cat', '/proc/mounts'])).output;
    expect(mounts).not.toContain(decodeGlobalId(b.id).id);
    expect(mounts).not.toContain('docker.sock');
    const sockets = await execIn(a.id, ['sh', '-c', 'find / -xdev -type s 2>/dev/null; true']);
    expect(sockets.output.trim()).toBe('');
  });
});

describe('agent A cannot reach anything', () => {
  test('only loopback; the database, the host bridge and B are unreachable', async () => {
    expect((await execIn(a.id, ['ls', '/sys/class/net'])).output.trim()).toBe('lo');
    const database = new URL(ADMIN_URL);
    for (const [host, port] of [
      [database.hostname, database.port || '5432'],
      ['172.17.0.1', '5432'],
      ['172.17.0.1', '2375'],
      ['8.8.8.8', '53'],
    ]) {
      const attempt = await execIn(a.id, ['sh', '-c', `echo | nc -w 2 ${host} ${port} && echo CONNECTED || echo REFUSED`]);
      expect(attempt.output, `${host}:${port}`).not.toContain('CONNECTED');
    }
  });
});

describe('A misbehaving leaves B and the gateway healthy', () => {
  test('a memory balloon in A is killed at its limit; B still answers', async () => {
    const container = containerOf(a.id);
    const before = (await container.inspect()).State.StartedAt;
    // `tail /dev/zero` buffers an endless line: it grows until the 32 MB cgroup limit kills it.
    const balloon = await execIn(a.id, ['sh', '-c', 'tail /dev/zero; echo exit=$?'], 20_000).catch((error: unknown) => ({
      exitCode: -1,
      output: String(error),
    }));
    // RUNC: the host kernel kills the balloon process. GVISOR: the whole sandbox is
    // in the cgroup, so the host kills gVisor's sentry: A's container dies OOM-killed and is restarted.
    const after = await container.inspect();
    const processKilled = /exit=137|Killed/.test(balloon.output);
    const sandboxKilled = after.State.OOMKilled || after.State.StartedAt !== before || !after.State.Running;
    expect(processKilled || sandboxKilled).toBe(true);
    expect(await answers(b)).toBe('pong');
  }, 60_000);

  test('a fork bomb in A hits its pids limit; B still answers, the gateway still serves', async () => {
    // After the balloon under GVISOR, A's sandbox is gone: its tenant restarts it (the reconciler would, later).
    if (!(await containerOf(a.id).inspect()).State.Running)
      expectNoErrors(await gw.execute(RestartAgent, { id: a.id }, { token: a.token }));
    await waitFor(
      async () =>
        (
          await containerOf(a.id)
            .inspect()
            .catch(() => null)
        )?.State.Running,
      (running) => running === true,
      30_000,
    );
    // RUNC: the pids cgroup refuses the 129th process. GVISOR (the default): gVisor's own kernel refuses
    // it (RLIMIT_NPROC), and the sandbox's host tasks stay under the host limit; bounded either way.
    await execIn(a.id, ['sh', '-c', 'for i in $(seq 1 400); do sleep 30 & done; echo spawned'], 20_000).catch(() => undefined);
    const count = await containerOf(a.id).stats({ stream: false });
    expect(count.pids_stats?.current ?? 0).toBeLessThanOrEqual(128);
    expect(await answers(b)).toBe('pong');
    expectNoErrors(await gw.execute(ListAgents, { first: 20 }, { token: b.token }));
  }, 90_000);
});
