import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ExportAgentMemory } from './memory-operations.ts';
import { agentWithToken, b64 } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { docker, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, AuditLog, CreateRuntimeAgent, Me, RunTask, TaskById } from './support/operations.ts';

// Against the real engine: the reference agent remembers what a task told it, through its own token.
let gw: Gateway;
beforeAll(async () => {
  await docker.ping();
  gw = await startGateway({ runtime: true });
});
afterAll(() => gw?.close());

async function ask(token: string, agentId: string, input: string): Promise<string | null | undefined> {
  const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId, input }, { token }));
  const done = await waitFor(
    async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token })).task,
    (task) => task.status === 'SUCCEEDED' || task.status === 'FAILED',
    30_000,
  );
  return done.result;
}

test('a task "remember x=1" and then "recall x": the reference agent keeps it in its own memory', async () => {
  const acme = await gw.seed.tenant();
  const token = acme.ownerToken;
  const { createAgent } = expectNoErrors(
    await gw.execute(CreateRuntimeAgent, { input: { name: 'rememberer', image: REFERENCE_IMAGE } }, { token }),
  );
  const id = createAgent.agent.id;
  await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent,
    (agent) => agent.status === 'RUNNING',
    60_000,
  );
  expect(await ask(token, id, 'recall x')).toBe("I don't remember x");
  expect(await ask(token, id, 'remember x=1')).toBe('remembered x');
  expect(await ask(token, id, 'recall x')).toBe('1');
  expect(await ask(token, id, 'remember x=two words')).toBe('remembered x');
  expect(await ask(token, id, 'recall x')).toBe('two words');
  // Stored as the agent's own memory, encrypted; the owner sees it only by exporting this one agent.
  const exported = expectNoErrors(await gw.execute(ExportAgentMemory, { agentId: id }, { token })).exportAgentMemory;
  expect(exported.entries).toEqual([{ key: 'x', value: '"two words"', tags: [] }]);
  // The token reached the agent's process at start, never its stored configuration.
  const inspected = await docker.getContainer(DockerRuntime.containerName(decodeGlobalId(id).id)).inspect();
  expect(JSON.stringify(inspected)).not.toMatch(/FLEETGATE_AGENT_TOKEN|eyJ/);
}, 120_000);

test('the channel accepts only its own agent’s token, and a revoked one not at all', async () => {
  // A gateway without a runtime: no container start mints (and so revokes) tokens behind the test's back.
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const acme = await gw.seed.tenant();
  const mine = await agentWithToken(gw, acme);
  const sibling = await agentWithToken(gw, acme);
  const channel = gw.fleetgate.memoryChannel;
  const self = { tenantId: mine.tenantId, agentId: mine.id };
  expect(await channel.handle(self, 'MEMPUT', [mine.token, b64('k'), b64('"v"')])).toBe('OK');
  expect(await channel.handle(self, 'MEMGET', [mine.token, b64('k')])).toBe(`VALUE ${b64('"v"')}`);
  expect(await channel.handle(self, 'MEMGET', [mine.token, b64('absent')])).toBe('NONE');
  // The sibling's (valid) token, replayed into this agent's channel.
  expect(await channel.handle(self, 'MEMGET', [sibling.token, b64('k')])).toBe('ERR UNAUTHENTICATED');
  expect(await channel.handle(self, 'MEMPUT', [sibling.token, b64('k'), b64('"x"')])).toBe('ERR UNAUTHENTICATED');
  expect(await channel.handle(self, 'MEMGET', ['not-a-token', b64('k')])).toBe('ERR UNAUTHENTICATED');
  expect(await channel.handle(self, 'MEMPUT', [mine.token, b64('k'), b64('{oops')])).toBe('ERR BAD_USER_INPUT');
  // RENEW: a fresh expiry for the same start's token.
  const renewed = (await channel.handle(self, 'RENEW', [mine.token]))?.replace(/^TOKEN /, '') ?? '';
  expect(await channel.handle(self, 'MEMGET', [renewed, b64('k')])).toBe(`VALUE ${b64('"v"')}`);
  expect(await channel.handle(self, 'RENEW', [sibling.token])).toBe('ERR UNAUTHENTICATED');
  // A container start mints a new token (what the start secrets do): the previous ones stop working at once.
  const fresh = (await mintAgentToken({ orm: gw.orm, tokens: gw.tokens }, { id: mine.id, tenantId: mine.tenantId }))?.reveal() ?? '';
  for (const old of [mine.token, renewed]) {
    expect(await channel.handle(self, 'MEMGET', [old, b64('k')])).toBe('ERR UNAUTHENTICATED');
    expect(await channel.handle(self, 'MEMPUT', [old, b64('k'), b64('"stale"')])).toBe('ERR UNAUTHENTICATED');
    expect(await channel.handle(self, 'RENEW', [old])).toBe('ERR UNAUTHENTICATED');
  }
  expect(await channel.handle(self, 'MEMGET', [fresh, b64('k')])).toBe(`VALUE ${b64('"v"')}`);
  expect(gw.logs()).not.toContain(fresh);
  // The refused write changed nothing, and is in the tenant's audit log as GraphQL's would be; the revoked ones are not.
  const events = expectNoErrors(
    await gw.execute(AuditLog, { filter: { action: 'Mutation.putMemory' }, first: 10 }, { token: acme.ownerToken }),
  );
  expect(events.auditLog.edges.map((edge) => [edge.node.outcome, edge.node.actorId, edge.node.detail])).toEqual([
    ['FAILED', mine.id, { code: 'BAD_USER_INPUT', via: 'channel' }],
  ]);
});

test('the channel’s memory requests stop when the tenant is frozen and count against its rate limit', async () => {
  const gw = await startGateway({ policy: { tenantRateLimitPerMinute: 40 } });
  onTestFinished(() => gw.close());
  const acme = await gw.seed.tenant();
  const mine = await agentWithToken(gw, acme);
  const channel = gw.fleetgate.memoryChannel;
  const self = { tenantId: mine.tenantId, agentId: mine.id };
  expect(await channel.handle(self, 'MEMPUT', [mine.token, b64('k'), b64('1')])).toBe('OK');
  await gw.operator.freeze(acme.id);
  await waitFor(
    () => channel.handle(self, 'MEMGET', [mine.token, b64('k')]),
    (answer) => answer === 'ERR TENANT_FROZEN',
    2_000,
  );
  expect(await channel.handle(self, 'MEMPUT', [mine.token, b64('k'), b64('2')])).toBe('ERR TENANT_FROZEN');
  await gw.operator.unfreeze(acme.id);
  await waitFor(
    () => channel.handle(self, 'MEMGET', [mine.token, b64('k')]),
    (answer) => answer === `VALUE ${b64('1')}`,
    2_000,
  );
  // The tenant has one budget (40 a minute): the channel spends it, and GraphQL is refused too; the refusal is audited.
  const answers: string[] = [];
  for (let i = 0; i < 60; i++) answers.push((await channel.handle(self, 'MEMGET', [mine.token, b64('k')])) ?? '');
  expect(answers.at(-1)).toBe('ERR RATE_LIMITED');
  expect(answers.filter((answer) => answer === `VALUE ${b64('1')}`).length).toBeLessThan(40);
  expect(errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken }))).toEqual(['RATE_LIMITED']);
  const refusals = await adminQuery(
    gw.database.adminUrl,
    "select actor_id from audit_events where tenant_id = $1 and action = 'rateLimit.exceeded'",
    [mine.tenantId],
  );
  expect(refusals.rows).toEqual([{ actor_id: mine.id }]);
});
