import { afterAll, beforeAll, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent, RunTask, TaskById } from './support/operations.ts';

// The provisioning queue stays shared (tenant_schema_exclusions): its jobs must still reach agents
// whose rows live in a tenant schema. Real Docker engine; fails without one.
let gw: Gateway;
beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
});
afterAll(() => gw?.close());

test('an enterprise tenant’s agent is provisioned, answers a task, and its rows stay in its schema', async () => {
  const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  const bank = await gw.seed.tenant('bank', { enterpriseBy: operator });
  const other = await gw.seed.tenant('other');
  const token = bank.ownerToken;
  const { createAgent } = expectNoErrors(
    await gw.execute(
      CreateRuntimeAgent,
      { input: { name: 'teller', image: REFERENCE_IMAGE, config: { answers: { ping: 'pong' }, fallback: 'no idea' } } },
      { token },
    ),
  );
  const id = createAgent.agent.id;
  await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })),
    (data) => data.agent.status === 'RUNNING',
    60_000,
  );
  expect((await containerOf(id).inspect()).State.Running).toBe(true);
  const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: id, input: 'ping' }, { token }));
  const task = await waitFor(
    async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token })).task,
    (t) => t.status === 'SUCCEEDED',
    30_000,
  );
  expect(task.result).toBe('pong');
  expect(errorCodes(await gw.execute(TaskById, { id: runTask.task.id }, { token: other.ownerToken }))).toEqual(['NOT_FOUND']);
  const tenantId = decodeGlobalId(bank.id).id;
  const count = async (rel: string) =>
    Number((await adminQuery(gw.database.adminUrl, `select count(*) from ${rel} where tenant_id = $1`, [tenantId])).rows[0]?.count);
  expect({
    agents: await count(`${tenantSchemaName(tenantId)}.agents`),
    tasks: await count(`${tenantSchemaName(tenantId)}.tasks`),
  }).toEqual({
    agents: 1,
    tasks: 1,
  });
  expect({ agents: await count('public.agents'), tasks: await count('public.tasks') }).toEqual({ agents: 0, tasks: 0 });
}, 120_000);
