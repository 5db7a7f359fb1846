import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { containerOf, docker, waitFor } from './support/docker.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent } from './support/operations.ts';

/**
 * The canary checks the sandbox level of running agents against the engine: here a GVISOR agent's
 * container is really swapped for a RUNC one behind the gateway's back (what a compromised host
 * process or a careless operator could do), and the next canary run treats it as an exposure.
 */
describe('the isolation canary checks sandbox levels', () => {
  let gw: Gateway;
  beforeAll(async () => {
    await docker.ping();
    gw = await startGateway({ canary: true, runtime: true }); // the test gateway reconciles only at start
  });
  afterAll(() => gw?.close());

  test('a GVISOR agent whose container runs under runc is an exposure: the gateway locks down', async () => {
    const { ownerToken: token } = await gw.seed.tenant();
    const { createAgent } = expectNoErrors(
      await gw.execute(CreateRuntimeAgent, { input: { name: 'strict', image: REFERENCE_IMAGE, sandbox: 'GVISOR' } }, { token }),
    );
    const id = createAgent.agent.id;
    await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent,
      (agent) => agent.status === 'RUNNING',
      60_000,
    );
    expect(await gw.fleetgate.canary.runOnce()).toEqual({ exposures: [] });

    // The swap: same name and labels, same image, the host's runtime.
    const original = await containerOf(id).inspect();
    expect(original.HostConfig.Runtime).toBe('runsc');
    await containerOf(id).remove({ force: true });
    const raw = decodeGlobalId(id).id;
    const impostor = await docker.createContainer({
      name: DockerRuntime.containerName(raw),
      Image: original.Config.Image,
      Cmd: ['/bin/sleep', '600'],
      Labels: original.Config.Labels,
      HostConfig: { Runtime: 'runc', NetworkMode: 'none' },
    });
    await impostor.start();

    const result = await gw.fleetgate.canary.runOnce();
    expect(result.exposures).toEqual([`sandbox: agent ${raw} requires GVISOR but its container runs under RUNC`]);
    const health = await gw.yoga.fetch('http://gateway.test/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'locked-down' });
    expect(gw.logs()).toContain('ISOLATION EXPOSURE');
  }, 120_000);
});
