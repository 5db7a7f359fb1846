import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { VaultKeyProvider } from '../src/keys/index.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { Secret } from '../src/shared/secret.ts';
import { DeleteCredential, RotateCredential, SetCredential } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentLogs, AgentRuntimeState, CreateRuntimeAgent, RestartAgent, RunTask, TaskById } from './support/operations.ts';
import { startTransitServer, type TransitServer } from './support/vault-transit.ts';

// Many restarts and full rewraps: slow on a loaded machine, so a generous per-test budget.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/**
 * Credentials reach the agent's process and nothing else, on the real Docker engine, with the Vault
 * provider (the in-test Transit server) so the sealed case can be shown at start.
 */
const VAULT_TOKEN = `hvs.${Math.random().toString(36).slice(2)}-runtime`;
let vault: TransitServer;
let gw: Gateway;
beforeAll(async () => {
  await docker.ping();
  vault = await startTransitServer({ token: VAULT_TOKEN });
  const keyProvider = new VaultKeyProvider({
    address: vault.address,
    token: new Secret(VAULT_TOKEN),
    key: 'fleetgate',
    log: createLogger({ level: 'silent' }),
  });
  gw = await startGateway({ runtime: true, keyProvider });
});
afterAll(async () => {
  await gw?.close();
  await vault?.close();
});

function canary(label: string) {
  const value = `canary-${label}-${Math.random().toString(36).slice(2)}${Date.now()}`;
  return {
    value,
    forms: [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex'), Buffer.from(value).toString('base64url')],
  };
}

function expectNoLeak(text: string, secrets: { forms: string[] }[], where: string) {
  for (const secret of secrets) for (const form of secret.forms) expect(text.includes(form), `${where} holds ${form}`).toBe(false);
}

async function runningAgent(token: string, config: Record<string, unknown> = {}, more: Record<string, unknown> = {}) {
  const name = `agent-${Math.random().toString(36).slice(2, 8)}`;
  const { createAgent } = expectNoErrors(
    await gw.execute(CreateRuntimeAgent, { input: { name, image: REFERENCE_IMAGE, config, ...more } }, { token }),
  );
  await waitStatus(token, createAgent.agent.id, 'RUNNING');
  return createAgent.agent.id;
}

async function waitStatus(token: string, id: string, status: string, timeoutMs = 60_000) {
  return waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent,
    (agent) => agent.status === status,
    timeoutMs,
  );
}

/** Waits until the agent's jobs are all done (a change queues a restart) and it runs. */
async function settled(token: string, agentId: string) {
  await waitFor(
    async () =>
      (
        await adminQuery<{ n: number }>(
          gw.database.adminUrl,
          "select count(*)::int as n from jobs where agent_id = $1 and status in ('QUEUED', 'RUNNING')",
          [decodeGlobalId(agentId).id],
        )
      ).rows[0]?.n,
    (n) => n === 0,
    90_000,
  );
  return waitStatus(token, agentId, 'RUNNING');
}

/**
 * The environment of the agent's PID 1, read from inside: the process, not the container config.
 * Read once PID 1 is the agent: the entrypoint decodes the secrets first (slower under gVisor).
 */
async function processEnv(agentId: string): Promise<Record<string, string>> {
  await waitFor(
    async () => (await execIn(agentId, ['cat', '/proc/1/cmdline'])).output,
    (cmdline) => cmdline.includes('/bin/agent') && !cmdline.includes('/bin/bootstrap'),
    20_000,
  );
  const { output } = await execIn(agentId, ['cat', '/proc/1/environ']);
  return Object.fromEntries(
    output
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile() && (await stat(path)).size < 50 * 1024 * 1024) out.push(path);
  }
  return out;
}

describe('credentials at runtime', () => {
  const seen: ReturnType<typeof canary>[] = [];

  test('an agent whose credential was altered in the database says which credential and why, never its value (regression: stuck with an empty statusReason)', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agent = await runningAgent(token);
    const secret = canary('tampered');
    expectNoErrors(await gw.execute(SetCredential, { agentId: agent, name: 'TAMPERED_KEY', value: secret.value }, { token }));
    await settled(token, agent);
    // A database administrator flips one byte of the ciphertext: the value no longer passes its integrity check.
    await adminQuery(
      gw.database.adminUrl,
      "update agent_credentials set ciphertext = set_byte(ciphertext, 0, (get_byte(ciphertext, 0) + 1) % 256) where agent_id = $1 and name = 'TAMPERED_KEY'",
      [decodeGlobalId(agent).id],
    );
    expectNoErrors(await gw.execute(RestartAgent, { id: agent }, { token }));
    const stuck = await waitFor(
      async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: agent }, { token })).agent,
      (state) => state.statusReason?.includes('TAMPERED_KEY') === true,
      60_000,
    );
    expect(stuck.statusReason).toBe('credential "TAMPERED_KEY" failed its integrity check: set it again to start the agent');
    expect(stuck.status).not.toBe('RUNNING');
    expectNoLeak(JSON.stringify(stuck), [secret], 'the agent state');
    expectNoLeak(gw.logs(), [secret], 'the logs');
    // Set again, the agent starts.
    expectNoErrors(await gw.execute(RotateCredential, { agentId: agent, name: 'TAMPERED_KEY', value: secret.value }, { token }));
    await settled(token, agent);
  });

  test('the agent’s process gets its credentials as environment variables under GVISOR (the default) and RUNC; its sibling does not', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agentA = await runningAgent(token, { answers: { ping: 'pong' } });
    const agentB = await runningAgent(token, {}, { sandbox: 'RUNC' });
    expect((await containerOf(agentA).inspect()).HostConfig.Runtime).toBe('runsc');
    expect((await containerOf(agentB).inspect()).HostConfig.Runtime).toBe('runc');
    const openai = canary('openai');
    const multiline = canary('multi');
    seen.push(openai, multiline);
    const multilineValue = `line one\n${multiline.value}\tand "quotes" $HOME \`x\``;
    const set = expectNoErrors(
      await gw.execute(SetCredential, { agentId: agentA, name: 'OPENAI_API_KEY', value: openai.value }, { token }),
    );
    expect(set.setCredential.agent.status).toBe('PROVISIONING'); // a running agent restarts to receive it
    expectNoErrors(await gw.execute(SetCredential, { agentId: agentA, name: 'TRICKY_VALUE', value: multilineValue }, { token }));

    await settled(token, agentA);
    const env = await processEnv(agentA);
    expect(env.OPENAI_API_KEY).toBe(openai.value);
    expect(env.TRICKY_VALUE).toBe(multilineValue);
    // PID 1 is the agent itself (bootstrap exec'd it), and it still answers tasks.
    expect((await execIn(agentA, ['cat', '/proc/1/cmdline'])).output).toContain('/bin/agent');
    const { runTask } = expectNoErrors(await gw.execute(RunTask, { agentId: agentA, input: 'ping' }, { token }));
    await waitFor(
      async () => expectNoErrors(await gw.execute(TaskById, { id: runTask.task.id }, { token })).task,
      (task) => task.status === 'SUCCEEDED' && task.result === 'pong',
      20_000,
    );
    // Agent B of the same tenant: nothing of A's, in its process or its container.
    expectNoLeak(JSON.stringify(await processEnv(agentB)), seen, 'agent B’s process');
    expect((await execIn(agentB, ['cat', '/proc/1/environ'])).output).not.toContain('OPENAI_API_KEY');
    // Under RUNC the same delivery: B's own credential reaches B.
    const own = canary('runc');
    seen.push(own);
    expectNoErrors(await gw.execute(SetCredential, { agentId: agentB, name: 'B_KEY', value: own.value }, { token }));
    await settled(token, agentB);
    expect((await processEnv(agentB)).B_KEY).toBe(own.value);

    // Rotation and deletion reach the process through a restart.
    const rotated = canary('rotated');
    seen.push(rotated);
    expectNoErrors(await gw.execute(RotateCredential, { agentId: agentA, name: 'OPENAI_API_KEY', value: rotated.value }, { token }));
    await settled(token, agentA);
    expect((await processEnv(agentA)).OPENAI_API_KEY).toBe(rotated.value);
    expectNoErrors(await gw.execute(DeleteCredential, { agentId: agentA, name: 'TRICKY_VALUE' }, { token }));
    await settled(token, agentA);
    const after = await processEnv(agentA);
    expect(after.OPENAI_API_KEY).toBe(rotated.value);
    expect(after.TRICKY_VALUE).toBeUndefined();

    // Nowhere else: the engine's view, its files for this container and its workspace, the logs on both sides.
    const info = await containerOf(agentA).inspect();
    // No stdin to attach to; the channel holds its two FIFOs and nothing else.
    expect(info.Config.OpenStdin).toBe(false);
    expect((await execIn(agentA, ['ls', '/run/fleetgate'])).output.trim().split(/\s+/)).toEqual(['from-agent', 'to-agent']);
    expect((info.Config.Env ?? []).filter((entry) => !entry.startsWith('PATH='))).toEqual([]);
    const agentId = decodeGlobalId(agentA).id;
    const files = [
      ...(await filesUnder(`/var/lib/docker/containers/${info.Id}`)),
      ...(await filesUnder(`/var/lib/docker/volumes/${DockerRuntime.volumeName(agentId)}`)),
    ];
    expect(files.some((file) => file.endsWith('config.v2.json'))).toBe(true);
    expect(files.some((file) => file.endsWith('-json.log'))).toBe(true);
    const onDisk = (await Promise.all(files.map((file) => readFile(file, 'latin1')))).join('\n');
    const containerLogs = String(await containerOf(agentA).logs({ stdout: true, stderr: true }));
    const apiLogs = expectNoErrors(await gw.execute(AgentLogs, { id: agentA, tail: 1000 }, { token })).agent.logs;
    expect(apiLogs).toContain('agent up');
    expectNoLeak(JSON.stringify(info), seen, 'docker inspect');
    expectNoLeak(onDisk, seen, 'the engine’s files');
    expectNoLeak(containerLogs + apiLogs, seen, 'the container’s logs');
    expectNoLeak(gw.logs(), seen, 'the gateway’s logs');
    // The multi-line value's own words are not in the gateway's logs either (the scrubber knows whole values only).
    expect(gw.logs()).not.toContain(multiline.value);
  });

  test('with Vault sealed an agent with credentials does not start (no plaintext fallback); unsealed, it does', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const agent = await runningAgent(token);
    const secret = canary('sealed-start');
    seen.push(secret);
    expectNoErrors(await gw.execute(SetCredential, { agentId: agent, name: 'API_TOKEN', value: secret.value }, { token }));
    await settled(token, agent);
    expect((await processEnv(agent)).API_TOKEN).toBe(secret.value);

    vault.state.sealed = true;
    try {
      expectNoErrors(await gw.execute(RestartAgent, { id: agent }, { token }));
      const waiting = await waitFor(
        async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id: agent }, { token })).agent,
        (state) => state.statusReason === 'key provider unavailable; retrying',
        60_000,
      );
      expect(waiting.status).toBe('PROVISIONING');
      const container = await containerOf(agent)
        .inspect()
        .catch(() => null);
      expect(container?.State.Running ?? false).toBe(false);
    } finally {
      vault.state.sealed = false;
    }
    await settled(token, agent);
    expect((await processEnv(agent)).API_TOKEN).toBe(secret.value);
    expectNoLeak(gw.logs(), seen, 'the gateway’s logs');
    expect(gw.logs()).not.toContain(VAULT_TOKEN);
  });
});
