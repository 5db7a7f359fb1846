import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, AuditLog, CreateRuntimeAgent, DeleteAgent, RunTask, TaskById } from './support/operations.ts';

/**
 * The two sandbox levels against a hostile agent. One agent per level (a few containers, not the
 * whole runtime suite twice): the hardening both share, the kernel each runs on, escape attempts
 * that must fail under both, and the workspace quota. gVisor's sentry counts against the memory
 * limit, and at 48 MB a busy GVISOR agent was OOM-killed as a whole (see docs/security-model.md).
 */
const SetSandboxPlan = graphql(`
  mutation SetSandboxPlan($id: ID!, $input: TenantQuotasInput!) {
    setTenantQuotas(id: $id, input: $input) { id quotas { sandbox workspaceMb } }
  }
`);

const WORKSPACE_ROOT = '/var/lib/fleetgate/workspaces';
let gw: Gateway;
let operator: string;
let token: string;
let tenantId: string;
const agents: Record<'GVISOR' | 'RUNC', string> = { GVISOR: '', RUNC: '' };

async function create(input: Record<string, unknown>, as = token) {
  const name = `agent-${Math.random().toString(36).slice(2, 8)}`;
  // 256 MB: under gVisor the sandbox's own kernel (about 15-20 MB here) and every `docker exec` count
  // against the agent's memory limit; room for the quota test's writes and the escape attempts.
  return gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb: 256, ...input } }, { token: as });
}

async function state(id: string, as = token) {
  return expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token: as })).agent;
}

async function answers(id: string) {
  const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: id, input: 'ping' }, { token }));
  const task = await waitFor(
    async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token })).task,
    (t) => t.status === 'SUCCEEDED',
    15_000,
  );
  return task.result;
}

beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
  operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op-sandbox' })).reveal();
  const tenant = await gw.seed.tenant('sandboxed');
  token = tenant.ownerToken;
  tenantId = tenant.id;
  // Small workspaces, so the quota test fills one in a moment.
  expectNoErrors(await gw.execute(SetSandboxPlan, { id: tenantId, input: { workspaceMb: 24 } }, { token: operator }));
  const config = { answers: { ping: 'pong' } };
  const [gvisor, runc] = await Promise.all([create({ config, sandbox: 'GVISOR' }), create({ config, sandbox: 'RUNC' })]);
  agents.GVISOR = expectNoErrors(gvisor).createAgent.agent.id;
  agents.RUNC = expectNoErrors(runc).createAgent.agent.id;
  await Promise.all(
    Object.values(agents).map((id) =>
      waitFor(
        () => state(id),
        (agent) => agent.status === 'RUNNING',
        30_000,
      ),
    ),
  );
}, 60_000);
afterAll(() => gw?.close());

describe.each(['GVISOR', 'RUNC'] as const)('the %s sandbox', (level) => {
  test('the API shows the level the container runs under, and the engine confirms it with every hardening option', async () => {
    const agent = await state(agents[level]);
    expect(agent.sandbox).toEqual({
      requested: level,
      runtime: level,
      network: 'NONE',
      workspaceMb: 24,
      scratchMb: 16,
    });
    const info = await containerOf(agents[level]).inspect();
    expect(info.HostConfig).toMatchObject({
      Runtime: level === 'GVISOR' ? 'runsc' : 'runc',
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      IpcMode: 'private',
    });
    // The agent's 128 processes: the host's pids cgroup under RUNC; gVisor's own kernel under GVISOR,
    // whose sentry threads and ptrace stubs count in the host cgroup and would exhaust 128 (the old instability).
    if (level === 'RUNC') expect(info.HostConfig.PidsLimit).toBe(128);
    else {
      expect(info.HostConfig.PidsLimit).toBe(1024);
      expect(info.HostConfig.Ulimits).toEqual([{ Name: 'nproc', Soft: 128, Hard: 128 }]);
    }
    expect(info.Config.User).toBe('65534:65534');
    const status = await execIn(agents[level], ['cat', '/proc/self/status']);
    expect(status.output).toMatch(/CapEff:\s+0000000000000000/);
    // gVisor's /proc does not report NoNewPrivs (the engine's SecurityOpt above holds it); the host kernel does.
    if (level === 'RUNC') expect(status.output).toMatch(/NoNewPrivs:\s+1/);
    expect((await execIn(agents[level], ['ls', '/sys/class/net'])).output.trim()).toBe('lo');
    expect(await answers(agents[level])).toBe('pong');
  });

  test("the kernel seen from inside: gVisor's under GVISOR, the host's under RUNC", async () => {
    const uname = (await execIn(agents[level], ['busybox', 'uname', '-r'])).output.trim();
    const dmesg = (await execIn(agents[level], ['sh', '-c', 'busybox dmesg 2>&1 | head -n 3'])).output;
    if (level === 'GVISOR') {
      expect(uname).not.toBe(release());
      expect(dmesg).toContain('Starting gVisor');
    } else {
      expect(uname).toBe(release());
      expect(dmesg).toContain('Operation not permitted'); // the host's kernel log stays closed
    }
  });
});

/**
 * Escape attempts, under both levels. (Until 2026-12-04 they took the GVISOR sandbox down in about half
 * the runs: every `docker exec` adds gVisor threads and ptrace stubs to the host pids cgroup, and at 128
 * the sentry could not create a thread. GVISOR's host limit is now the sandbox's, the agent's 128 are
 * gVisor's own RLIMIT_NPROC: see processLimits in docker-runtime.ts.)
 */
describe.each(['GVISOR', 'RUNC'] as const)('escape attempts under %s', (level) => {
  test('escape attempts fail: mount, raw sockets, /proc/sys writes, namespaces, other processes, the channel directory', async () => {
    const dockerd = Number((await readFile('/var/run/docker.pid', 'utf8').catch(() => '1')).trim());
    // Every attempt in one `docker exec`: under gVisor each exec costs the sandbox time.
    const attempts: Record<string, string> = {
      mount: 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m',
      mounted: 'mount | grep -c /tmp/m',
      // busybox ping opens a raw ICMP socket (unprivileged ICMP sockets are off on this host): no CAP_NET_RAW, no socket.
      ping: 'busybox ping -c 1 -W 1 127.0.0.1',
      nsLastPid: 'echo 1 > /proc/sys/kernel/ns_last_pid',
      overcommit: 'echo 1 > /proc/sys/vm/overcommit_memory',
      sysrq: 'echo 1 > /proc/sysrq-trigger',
      nsenter: 'busybox nsenter -t 1 -m -p true',
      // Another process outside the sandbox (here: the container engine's daemon) cannot even be named, so not traced either.
      signalDockerd: `kill -0 ${dockerd}`,
      // ptrace needs the target's /proc entry first; reading its memory is what a tracer would do.
      traceDockerd: `head -c 1 /proc/${dockerd}/mem`,
      pids: 'ls /proc | grep -c "^[0-9]"',
      channel: 'ls /run/fleetgate | tr "\\n" " "',
    };
    // The channel directory is root's: nothing can be added to or removed from it.
    const channelWrites = ['plant', 'unlink'];
    Object.assign(attempts, { plant: 'touch /run/fleetgate/evil', unlink: 'rm -f /run/fleetgate/to-agent' });
    const script = Object.entries(attempts)
      .map(([name, command]) => `echo "<${name}>"; (${command}) 2>&1; echo "</${name} exit=$?>"`)
      .join('; ');
    const output = (await execIn(agents[level], ['sh', '-c', script], 30_000)).output;
    const result = (name: string) => {
      const match = new RegExp(`<${name}>\\n([\\s\\S]*?)</${name} exit=(\\d+)>`).exec(output);
      if (!match) throw new Error(`no answer for ${name} in:\n${output}`);
      return { text: match[1] ?? '', exit: Number(match[2]) };
    };
    for (const name of [
      'mount',
      'ping',
      'nsLastPid',
      'overcommit',
      'sysrq',
      'nsenter',
      'signalDockerd',
      'traceDockerd',
      ...channelWrites,
    ]) {
      expect([name, result(name).exit === 0]).toEqual([name, false]);
    }
    expect(result('mounted').text.trim()).toBe('0');
    expect(result('ping').text).toContain('permission denied');
    expect(result('signalDockerd').text).toContain('No such process');
    expect(Number(result('pids').text.trim())).toBeLessThanOrEqual(5);
    expect(result('channel').text.trim().split(/\s+/)).toEqual(['from-agent', 'to-agent']);
    expect(await answers(agents[level])).toBe('pong');
  });
});

describe('workspace quota', () => {
  test('writing past the quota fails with ENOSPC inside the agent; the host holds no more than the quota, the neighbour keeps answering', async () => {
    const full = agents.GVISOR;
    const fill = await execIn(full, ['sh', '-c', 'dd if=/dev/zero of=/workspace/fill bs=1048576 count=64 2>&1; echo "exit=$?"'], 30_000);
    expect(fill.output).toContain('No space left on device');
    expect(fill.output).toMatch(/exit=[1-9]/);
    const written = Number((await execIn(full, ['stat', '-c', '%s', '/workspace/fill'])).output.trim());
    expect(written).toBeGreaterThan(16 * 1024 * 1024);
    expect(written).toBeLessThanOrEqual(24 * 1024 * 1024);
    // On the host: the agent's workspace is one image file whose blocks cannot exceed its size.
    const image = `${WORKSPACE_ROOT}/${decodeGlobalId(full).id}.ext4`;
    const onHost = await stat(image);
    expect(onHost.size).toBe(24 * 1024 * 1024);
    expect(onHost.blocks * 512).toBeLessThanOrEqual(24 * 1024 * 1024);
    // The full agent still runs and answers, and so does its neighbour, whose workspace is its own.
    expect(await answers(full)).toBe('pong');
    expect(await answers(agents.RUNC)).toBe('pong');
    const neighbour = await execIn(agents.RUNC, [
      'sh',
      '-c',
      'dd if=/dev/zero of=/workspace/small bs=1048576 count=4 2>&1; echo "exit=$?"',
    ]);
    expect(neighbour.output).toContain('exit=0');
  }, 90_000);

  test('deleting an agent removes its container, volume, mount and image file', async () => {
    const { createAgent } = expectNoErrors(await create({ sandbox: 'RUNC' }));
    const id = createAgent.agent.id;
    await waitFor(
      () => state(id),
      (agent) => agent.status === 'RUNNING',
      30_000,
    );
    const raw = decodeGlobalId(id).id;
    const dir = `${WORKSPACE_ROOT}/${raw}`;
    expect(existsSync(`${dir}.ext4`)).toBe(true);
    expect(await readFile('/proc/self/mounts', 'utf8')).toContain(` ${dir} `);
    expectNoErrors(await gw.execute(DeleteAgent, { id }, { token }));
    await waitFor(
      async () => existsSync(`${dir}.ext4`) || (await readFile('/proc/self/mounts', 'utf8')).includes(` ${dir} `),
      (left) => !left,
      20_000,
    );
    expect(existsSync(dir)).toBe(false);
    await expect(docker.getVolume(DockerRuntime.volumeName(raw)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getContainer(DockerRuntime.containerName(raw)).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 60_000);
});

describe('the default level', () => {
  test('no level asked for: GVISOR where the engine offers it, RUNC for an egress agent (gVisor has no network here)', async () => {
    const [plain, egress] = await Promise.all([create({}), create({ egress: true })]);
    const ids = [expectNoErrors(plain).createAgent.agent.id, expectNoErrors(egress).createAgent.agent.id];
    const [quiet, networked] = await Promise.all(
      ids.map((id) =>
        waitFor(
          () => state(id),
          (agent) => agent.status === 'RUNNING',
          30_000,
        ),
      ),
    );
    expect(quiet?.sandbox).toMatchObject({ requested: null, runtime: 'GVISOR', network: 'NONE' });
    expect(networked?.sandbox).toMatchObject({ requested: null, runtime: 'RUNC' });
    expect((await containerOf(ids[0] ?? '').inspect()).HostConfig.Runtime).toBe('runsc');
    await Promise.all(ids.map((id) => gw.execute(DeleteAgent, { id }, { token })));
  }, 60_000);
});

describe('levels that cannot be had are refused, never swapped', () => {
  test('GVISOR with egress is refused at create; a GVISOR plan refuses RUNC and egress agents', async () => {
    const owner = (await gw.seed.tenant()).ownerToken;
    expect(errorCodes(await create({ sandbox: 'GVISOR', egress: true }, owner))).toEqual(['BAD_USER_INPUT']);
    const strict = await gw.seed.tenant();
    const plan = expectNoErrors(await gw.execute(SetSandboxPlan, { id: strict.id, input: { sandbox: 'GVISOR' } }, { token: operator }));
    expect(plan.setTenantQuotas.quotas.sandbox).toBe('GVISOR');
    expect(errorCodes(await create({ sandbox: 'RUNC' }, strict.ownerToken))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await create({ egress: true }, strict.ownerToken))).toEqual(['BAD_USER_INPUT']);
    // The plan change is in the tenant's audit log, before and after.
    const { auditLog } = expectNoErrors(
      await gw.execute(AuditLog, { first: 10, filter: { action: 'tenant.quotas' } }, { token: strict.ownerToken }),
    );
    expect(auditLog.edges[0]?.node.detail).toMatchObject({ before: { sandbox: null }, after: { sandbox: 'GVISOR' } });
  });

  test('an engine without gVisor: an agent that requires GVISOR is FAILED with the reason and no container exists', async () => {
    const bare = await startGateway({ runtime: { gvisorRuntime: 'runsc-not-registered' } });
    try {
      const owner = (await bare.seed.tenant()).ownerToken;
      const name = 'needs-gvisor';
      const { createAgent } = expectNoErrors(
        await bare.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, sandbox: 'GVISOR' } }, { token: owner }),
      );
      const failed = await waitFor(
        async () => expectNoErrors(await bare.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token: owner })).agent,
        (agent) => agent.status === 'FAILED',
      );
      expect(failed.statusReason).toBe('sandbox GVISOR is required but the container engine does not offer it');
      expect(failed.sandbox).toMatchObject({ requested: 'GVISOR', runtime: null });
      const raw = decodeGlobalId(createAgent.agent.id).id;
      await expect(docker.getContainer(DockerRuntime.containerName(raw)).inspect()).rejects.toMatchObject({ statusCode: 404 });
      // Asking for nothing on that engine: RUNC, said so in the API.
      const { createAgent: plain } = expectNoErrors(
        await bare.execute(CreateRuntimeAgent, { input: { name: 'plain', image: REFERENCE_IMAGE } }, { token: owner }),
      );
      const running = await waitFor(
        async () => expectNoErrors(await bare.execute(AgentRuntimeState, { id: plain.agent.id }, { token: owner })).agent,
        (agent) => agent.status === 'RUNNING',
        30_000,
      );
      expect(running.sandbox).toMatchObject({ requested: null, runtime: 'RUNC' });
    } finally {
      await bare.close();
    }
  }, 60_000);
});
