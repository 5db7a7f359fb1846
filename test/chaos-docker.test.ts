import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { createLogger } from '../src/shared/logger.ts';
import { uuidOf } from './support/audit.ts';
import { docker } from './support/docker.ts';
import { startDockerProxy } from './support/docker-proxy.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent, DeleteAgent } from './support/operations.ts';
import { waitUntil } from './support/wait.ts';

/**
 * Chaos: the container engine goes away and comes back, as a stopped and restarted dockerd does.
 * The gateway reaches the real engine through a pass-through socket the test cuts (the shared
 * dockerd is never stopped); while it is cut, the engine's restart is played on the real engine:
 * the agents' containers are stopped. Meanwhile a tenant creates one agent and deletes another.
 * Once the engine answers again, the jobs and the reconciler converge: every live agent RUNNING in
 * exactly one running container, the deleted agent's container gone, no container without an agent.
 */
describe('chaos: the Docker engine stopped and started', () => {
  let proxy: Awaited<ReturnType<typeof startDockerProxy>>;
  let gw: Gateway;

  beforeAll(async () => {
    await docker.ping();
    proxy = await startDockerProxy();
    gw = await startGateway({ runtime: { socketPath: proxy.path, restartPolicy: 'restart' } });
  }, 90_000);
  afterAll(async () => {
    // The gateway's close leaves containers alone behind a socket of the test's: remove them on the real engine.
    if (gw) {
      const engine = new DockerRuntime({ instance: gw.database.name, log: createLogger({ level: 'silent' }) });
      await gw.close().catch(() => undefined);
      for (const container of await engine.list()) await engine.remove(container.agentId);
    }
    await proxy?.close();
  });

  test('the reconciler converges: no orphan, no double container, every live agent running again', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const runtime = gw.fleetgate.runtime;
    if (!runtime) throw new Error('runtime expected');
    const create = async (name: string) =>
      expectNoErrors(await gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb: 16 } }, { token })).createAgent
        .agent.id;
    const state = async (id: string) => (await gw.execute(AgentRuntimeState, { id }, { token })).data?.agent;
    const containers = async () =>
      (await docker.listContainers({ all: true, filters: { label: [`fleetgate.instance=${gw.database.name}`] } })).map((c) => ({
        agent: c.Labels['fleetgate.agent'],
        state: c.State,
      }));

    const keeper = await create('keeper');
    const doomed = await create('doomed');
    await waitUntil(
      async () => (await state(keeper))?.status === 'RUNNING' && (await state(doomed))?.status === 'RUNNING',
      60_000,
      'both agents running',
    );

    // The engine stops: the gateway loses it, and its containers stop with it.
    proxy.cut();
    for (const container of await docker.listContainers({ filters: { label: [`fleetgate.instance=${gw.database.name}`] } })) {
      await docker.getContainer(container.Id).stop({ t: 1 });
    }
    // Meanwhile the tenant goes on: one agent more, one less; a reconcile pass meets the outage.
    const latecomer = await create('latecomer');
    expectNoErrors(await gw.execute(DeleteAgent, { id: doomed }, { token }));
    await expect(runtime.reconciler.reconcile()).rejects.toThrow();
    expect((await state(latecomer))?.status).toBe('PROVISIONING');

    // The engine is back: jobs retry and the periodic reconcile pass (run here by hand) converges.
    proxy.restore();
    const live = [uuidOf(keeper), uuidOf(latecomer)].sort();
    await waitUntil(
      async () => {
        await runtime.reconciler.reconcile().catch(() => undefined);
        const seen = await containers();
        const running = (await Promise.all([keeper, latecomer].map(state))).every((agent) => agent?.status === 'RUNNING');
        return (
          running &&
          seen.length === 2 &&
          seen.every((c) => c.state === 'running') &&
          JSON.stringify(seen.map((c) => c.agent).sort()) === JSON.stringify(live)
        );
      },
      60_000,
      'the engine and the database to agree',
    );
    // Converged and stable: one more pass changes nothing.
    const report = await runtime.reconciler.reconcile();
    expect(report).toEqual({ removedOrphans: [], restarted: [], failed: [], removedNetworks: [] });
    expect((await containers()).map((c) => c.agent).sort()).toEqual(live);
    expect(gw.logs()).not.toMatch(/"msg":"unexpected error"/);
  }, 150_000);
});
