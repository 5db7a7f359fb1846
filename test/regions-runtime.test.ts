import { afterAll, beforeAll, expect, test } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, waitFor } from './support/docker.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent, RunTask, TaskById } from './support/operations.ts';

// No skip when Docker is missing: these tests exist to run against the real engine, so they fail without one.
let gw: Gateway;
beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true, regions: ['us-1'] });
});
afterAll(() => gw?.close());

async function runningAgent(token: string) {
  const { createAgent } = expectNoErrors(
    await gw.execute(
      CreateRuntimeAgent,
      { input: { name: `agent-${Math.random().toString(36).slice(2, 8)}`, image: REFERENCE_IMAGE } },
      { token },
    ),
  );
  const { agent } = await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: createAgent.agent.id }, { token })),
    (data) => data.agent.status === 'RUNNING',
  );
  return agent;
}

test('each region runs its own agents from its own database, and no region’s reconciler takes another’s containers for orphans', async () => {
  const home = await gw.seed.tenant('home-runtime');
  const us = await gw.seed.tenant('us-runtime', { region: 'us-1' });
  const homeAgent = await runningAgent(home.ownerToken);
  const usAgent = await runningAgent(us.ownerToken);
  // The us-1 agent's container carries us-1's instance label: it was provisioned by us-1's runtime, from us-1's jobs.
  const usLabels = (await containerOf(usAgent.id).inspect()).Config.Labels;
  const homeLabels = (await containerOf(homeAgent.id).inspect()).Config.Labels;
  expect(usLabels['fleetgate.instance']).toBe(`${gw.database.name}.us-1`);
  expect(homeLabels['fleetgate.instance']).toBe(gw.database.name);

  for (const runtime of gw.fleetgate.runtimes.values()) {
    expect((await runtime.reconciler.reconcile()).removedOrphans).toEqual([]);
  }
  expect((await containerOf(usAgent.id).inspect()).State.Running).toBe(true);
  expect((await containerOf(homeAgent.id).inspect()).State.Running).toBe(true);

  // A task reaches the us-1 agent over the channel us-1's runtime holds; the agent's memory calls
  // (its own token, back through the gateway) are routed to us-1's database.
  const ask = async (input: string) => {
    const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: usAgent.id, input }, { token: us.ownerToken }));
    const answered = await waitFor(
      async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token: us.ownerToken })).task,
      (task) => task.status === 'SUCCEEDED',
      10_000,
    );
    return answered.result;
  };
  expect(await ask('remember home=us-1')).toBe('remembered home');
  expect(await ask('recall home')).toBe('us-1');
  const usUrl = gw.regionDatabases.get('us-1')?.adminUrl ?? '';
  const memoryRows = async (url: string) =>
    (await adminQuery(url, 'select count(*)::int as n from agent_memory where agent_id = $1', [decodeGlobalId(usAgent.id).id])).rows[0]?.n;
  expect(await memoryRows(usUrl)).toBe(1);
  expect(await memoryRows(gw.database.adminUrl)).toBe(0);
});
