import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, AuditLog, StartAgent, StopAgent } from './support/operations.ts';

const CreateEgressAgent = graphql(`
  mutation CreateEgressAgent($input: CreateAgentInput!) {
    createAgent(input: $input) { agent { id status egress } }
  }
`);

const SetEgress = graphql(`
  mutation SetEgress($id: ID!, $egress: Boolean!) {
    updateAgent(input: { id: $id, egress: $egress }) { agent { id status egress } }
  }
`);

/** Wall 4, networks: opt-in egress puts an agent on its tenant's own bridge network and nowhere else. */
let gw: Gateway;
let tenantA: { id: string; token: string };
let tenantB: { id: string; token: string };
const agents: Record<'a1' | 'a2' | 'a3' | 'b1', string> = { a1: '', a2: '', a3: '', b1: '' };

async function running(token: string, name: string, egress: boolean): Promise<string> {
  const { createAgent } = expectNoErrors(
    await gw.execute(CreateEgressAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb: 32, cpuMillis: 100, egress } }, { token }),
  );
  expect(createAgent.agent.egress).toBe(egress);
  await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token })).agent,
    (agent) => agent.status === 'RUNNING',
  );
  return createAgent.agent.id;
}

const networkOf = (tenantGlobalId: string) => DockerRuntime.networkName(gw.database.name, decodeGlobalId(tenantGlobalId).id);

async function ipOf(agentId: string, network: string): Promise<string> {
  const ip = (await containerOf(agentId).inspect()).NetworkSettings.Networks[network]?.IPAddress;
  if (!ip) throw new Error(`agent not on ${network}`);
  return ip;
}

/** A busybox nc server inside the agent's container, answering every connection with `banner`. */
async function listen(agentId: string, port: number, banner: string): Promise<void> {
  const exec = await containerOf(agentId).exec({ Cmd: ['sh', '-c', `while :; do echo ${banner} | nc -l -p ${port}; done`] });
  await exec.start({ Detach: true });
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/** What `agentId` receives when it connects to host:port within 2 seconds ('' when nothing answers). */
async function probe(agentId: string, host: string, port: number, send = ''): Promise<string> {
  const attempt = await execIn(agentId, ['sh', '-c', `printf '${send}' | nc -w 2 ${host} ${port} && echo CONNECTED || echo REFUSED`]);
  return attempt.output;
}

beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
  const a = await gw.seed.tenant('egress-a');
  const b = await gw.seed.tenant('egress-b');
  tenantA = { id: a.id, token: a.ownerToken };
  tenantB = { id: b.id, token: b.ownerToken };
  [agents.a1, agents.a2, agents.a3, agents.b1] = await Promise.all([
    running(a.ownerToken, 'a1', true),
    running(a.ownerToken, 'a2', true),
    running(a.ownerToken, 'a3', false),
    running(b.ownerToken, 'b1', true),
  ]);
  await Promise.all([listen(agents.a2, 7000, 'hello-from-a2'), listen(agents.b1, 7000, 'hello-from-b1')]);
}, 120_000);
afterAll(() => gw?.close());

describe('egress networks', () => {
  test('one labelled bridge network per tenant; egress agents of a tenant share it, an agent without egress has only lo', async () => {
    const networks = await docker.listNetworks({ filters: { label: [`fleetgate.instance=${gw.database.name}`] } });
    expect(networks.map((n) => n.Name).sort()).toEqual([networkOf(tenantA.id), networkOf(tenantB.id)].sort());
    for (const network of networks) {
      const info = await docker.getNetwork(network.Id).inspect();
      expect(info.Driver).toBe('bridge');
      expect(info.Internal).toBe(true); // no route out: the egress proxy is the only way (test/egress-proxy.test.ts)
      const tenant = info.Labels?.['fleetgate.tenant'];
      const members = Object.values(info.Containers ?? {}).map((c) => (c as { Name: string }).Name);
      const expected = tenant === decodeGlobalId(tenantA.id).id ? [agents.a1, agents.a2] : [agents.b1];
      expect(members.sort()).toEqual(expected.map((id) => DockerRuntime.containerName(decodeGlobalId(id).id)).sort());
    }
    // Egress changes the network and nothing else of the hardening.
    const host = (await containerOf(agents.a1).inspect()).HostConfig;
    expect(host).toMatchObject({ NetworkMode: networkOf(tenantA.id), ReadonlyRootfs: true, CapDrop: ['ALL'], Privileged: false });
    expect((await containerOf(agents.a3).inspect()).HostConfig.NetworkMode).toBe('none');
    expect((await execIn(agents.a3, ['ls', '/sys/class/net'])).output.trim()).toBe('lo');
    expect((await execIn(agents.a1, ['ls', '/sys/class/net'])).output.trim().split(/\s+/).sort()).toEqual(['eth0', 'lo']);
  });

  test("an egress agent of A reaches A's other egress agent, never B's; B never reaches A", async () => {
    const a2 = await ipOf(agents.a2, networkOf(tenantA.id));
    const b1 = await ipOf(agents.b1, networkOf(tenantB.id));
    expect(await probe(agents.a1, a2, 7000)).toContain('hello-from-a2'); // same tenant: the network works as designed
    const fromA = await probe(agents.a1, b1, 7000);
    expect(fromA).not.toContain('hello-from-b1');
    expect(fromA).toContain('REFUSED');
    expect(await probe(agents.b1, a2, 7000)).not.toContain('hello-from-a2');
    // The agent without egress reaches neither.
    expect(await probe(agents.a3, a2, 7000)).not.toContain('hello-from-a2');
  });

  test('wall removed: were B on A’s network, A would reach it; so the separate network is what stops it', async () => {
    const shared = docker.getNetwork(networkOf(tenantA.id));
    await shared.connect({ Container: DockerRuntime.containerName(decodeGlobalId(agents.b1).id) });
    try {
      const b1OnA = await ipOf(agents.b1, networkOf(tenantA.id));
      expect(await probe(agents.a1, b1OnA, 7000)).toContain('hello-from-b1');
    } finally {
      await shared.disconnect({ Container: DockerRuntime.containerName(decodeGlobalId(agents.b1).id), Force: true });
    }
  });

  test('the host through the bridge gateway: Postgres and the gateway (on loopback) are unreachable; a service on 0.0.0.0 would not be', async () => {
    const info = await docker.getNetwork(networkOf(tenantA.id)).inspect();
    const bridgeGateway = info.IPAM?.Config?.[0]?.Gateway;
    expect(bridgeGateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const host = bridgeGateway ?? '';

    expect(loadConfig({}).HOST).toBe('127.0.0.1'); // the gateway's default bind address
    const serve = async (address: string) => {
      const server = createServer((request, response) => void gw.yoga(request, response));
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      return server;
    };
    const port = (server: Server) => (server.address() as AddressInfo).port;
    const onLoopback = await serve('127.0.0.1');
    const onAll = await serve('0.0.0.0'); // the wall removed: what binding every interface would expose
    try {
      const request = 'GET / HTTP/1.0\\r\\n\\r\\n';
      expect(await probe(agents.a1, host, port(onLoopback), request)).not.toContain('HTTP/1.');
      expect(await probe(agents.a1, host, port(onAll), request)).toContain('HTTP/1.');
      expect(await probe(agents.a1, host, 5432)).toContain('REFUSED');
      expect(await probe(agents.a1, '172.17.0.1', 5432)).toContain('REFUSED');
    } finally {
      onLoopback.close();
      onAll.close();
    }
  });

  test('turning egress off recreates the container without network; the reconciler then removes the tenant network', async () => {
    const off = expectNoErrors(await gw.execute(SetEgress, { id: agents.b1, egress: false }, { token: tenantB.token }));
    expect(off.updateAgent.agent).toMatchObject({ egress: false, status: 'PROVISIONING' });
    await waitFor(
      async () =>
        (
          await containerOf(agents.b1)
            .inspect()
            .catch(() => null)
        )?.HostConfig.NetworkMode,
      (mode) => mode === 'none',
    );
    await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: agents.b1 }, { token: tenantB.token })).agent.status,
      (status) => status === 'RUNNING',
    );
    const report = await gw.fleetgate.runtime?.reconciler.reconcile();
    expect(report?.removedNetworks).toEqual([decodeGlobalId(tenantB.id).id]);
    const left = await docker.listNetworks({ filters: { label: [`fleetgate.instance=${gw.database.name}`] } });
    expect(left.map((n) => n.Name)).toEqual([networkOf(tenantA.id)]);
    expect((await execIn(agents.b1, ['ls', '/sys/class/net'])).output.trim()).toBe('lo');
  });

  // Regression: a stopped agent's old container was started again with its old network after egress changed.
  test('egress switched on while the agent is stopped applies when it starts: never the old container on its old network', async () => {
    expectNoErrors(await gw.execute(StopAgent, { id: agents.a3 }, { token: tenantA.token }));
    await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: agents.a3 }, { token: tenantA.token })).agent.status,
      (status) => status === 'STOPPED',
    );
    const on = expectNoErrors(await gw.execute(SetEgress, { id: agents.a3, egress: true }, { token: tenantA.token }));
    expect(on.updateAgent.agent).toMatchObject({ egress: true, status: 'STOPPED' });
    expect((await containerOf(agents.a3).inspect()).HostConfig.NetworkMode).toBe('none');
    expectNoErrors(await gw.execute(StartAgent, { id: agents.a3 }, { token: tenantA.token }));
    await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: agents.a3 }, { token: tenantA.token })).agent.status,
      (status) => status === 'RUNNING',
    );
    expect((await containerOf(agents.a3).inspect()).HostConfig.NetworkMode).toBe(networkOf(tenantA.id));
  });
});

describe('who may grant egress', () => {
  test('members cannot create or switch on an egress agent; owners can, and the audit log says so', async () => {
    const acme = await gw.seed.tenant();
    const member = await acme.member('MEMBER');
    const admin = await acme.member('ADMIN');
    const denied = await gw.execute(
      CreateEgressAgent,
      { input: { name: 'sneaky', image: REFERENCE_IMAGE, egress: true } },
      { token: member.token },
    );
    expect(errorCodes(denied)).toEqual(['FORBIDDEN']);
    const plain = expectNoErrors(
      await gw.execute(CreateEgressAgent, { input: { name: 'plain', image: REFERENCE_IMAGE } }, { token: member.token }),
    ).createAgent.agent;
    expect(plain.egress).toBe(false);
    expect(errorCodes(await gw.execute(SetEgress, { id: plain.id, egress: true }, { token: member.token }))).toEqual(['FORBIDDEN']);
    expect(
      expectNoErrors(await gw.execute(SetEgress, { id: plain.id, egress: true }, { token: admin.token })).updateAgent.agent.egress,
    ).toBe(true);

    const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 50 }, { token: acme.ownerToken }));
    const events = auditLog.edges.map((edge) => edge.node);
    expect(events.find((e) => e.action === 'agent.update')?.detail).toMatchObject({ fields: ['egress'], egress: true });
    expect(events.filter((e) => e.outcome === 'DENIED').length).toBeGreaterThanOrEqual(2);
  });
});

describe('tenant network races', () => {
  // Regression (CI): two egress agents of one tenant starting together created two networks of one
  // name, and the engine then refused to join either ("is ambiguous"). The engine's CheckDuplicate is
  // best effort, so a replica can still lose that race; the next creation must collapse the pair.
  test('a tenant network duplicated by a racing replica collapses to the oldest before an agent joins it', async () => {
    const acme = await gw.seed.tenant('egress-dup');
    const first = await running(acme.ownerToken, 'first', true);
    const name = networkOf(acme.id);
    const named = async () => (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
    const [original] = await named();
    await docker.createNetwork({
      Name: name,
      CheckDuplicate: false,
      Labels: { 'fleetgate.instance': gw.database.name, 'fleetgate.tenant': decodeGlobalId(acme.id).id },
    });
    expect(await named()).toHaveLength(2); // the engine really does allow the duplicate

    const second = await running(acme.ownerToken, 'second', true);
    const left = await named();
    expect(left.map((n) => n.Id)).toEqual([original?.Id]);
    const members = Object.values((await docker.getNetwork(name).inspect()).Containers ?? {}).map((c) => (c as { Name: string }).Name);
    expect(members.sort()).toEqual([first, second].map((id) => DockerRuntime.containerName(decodeGlobalId(id).id)).sort());
  });
});
