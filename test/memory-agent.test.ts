import { afterAll, beforeAll, expect, onTestFinished, test } from 'vitest';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { MemoryChannel } from '../src/modules/memory/memory-channel.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ExportAgentMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { docker, waitFor } from './support/docker.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentRuntimeState, CreateRuntimeAgent, RunTask, TaskById } from './support/operations.ts';

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
  const acme = await gw.seed.tenant();
  const mine = await agentWithToken(gw, acme);
  const sibling = await agentWithToken(gw, acme);
  const channel = new MemoryChannel({ tokens: gw.tokens, log: gw.log, fetch: async (request) => gw.yoga.fetch(request) });
  onTestFinished(() => gw.close());
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const self = { tenantId: mine.tenantId, agentId: mine.id };
  expect(await channel.handle(self, 'MEMPUT', [mine.token, b64('k'), b64('"v"')])).toBe('OK');
  expect(await channel.handle(self, 'MEMGET', [mine.token, b64('k')])).toBe(`VALUE ${b64('"v"')}`);
  // The sibling's (valid) token, replayed into this agent's channel.
  expect(await channel.handle(self, 'MEMGET', [sibling.token, b64('k')])).toBe('ERR UNAUTHENTICATED');
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
    expect(await channel.handle(self, 'RENEW', [old])).toBe('ERR UNAUTHENTICATED');
  }
  expect(await channel.handle(self, 'MEMGET', [fresh, b64('k')])).toBe(`VALUE ${b64('"v"')}`);
  expect(gw.logs()).not.toContain(fresh);
});
