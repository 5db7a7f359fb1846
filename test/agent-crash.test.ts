import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { adminQuery, createTestDatabase } from './support/database.ts';
import { docker, waitFor } from './support/docker.ts';
import { CreateRuntimeAgent, RunTask, SignUp, TaskById } from './support/operations.ts';

/** A real crash: the gateway process is SIGKILLed mid-provision and another one finishes the work. */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let home: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await docker.ping();
  database = await createTestDatabase();
  home = await mkdtemp(join(tmpdir(), 'fleetgate-crash-'));
  await openKeyring(join(home, 'keyring')); // shared by both gateway processes
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  const engine = new DockerRuntime({ instance: database.name, log: createLogger({ level: 'silent' }) });
  for (const container of await engine.list()) await engine.remove(container.agentId);
  await database?.drop();
  await rm(home, { recursive: true, force: true });
});

async function gatewayProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/runtime-gateway.ts'], {
    env: {
      ...process.env,
      APP_URL: appUrlFor(database.adminUrl),
      KEYRING_DIR: join(home, 'keyring'),
      INSTANCE: database.name,
      CHANNEL_ROOT: join(home, 'agents'),
      LEASE_SECONDS: '3',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      const match = /port (\d+)/.exec(String(chunk));
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/graphql` };
}

// biome-ignore lint/suspicious/noExplicitAny: the typed documents' results are read field by field below.
async function call(url: string, document: Parameters<typeof print>[0], variables: object, token?: string): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const agentRow = async (id: string) =>
  (await adminQuery<{ status: string }>(database.adminUrl, 'select status from agents where id = $1', [id])).rows[0]?.status;

test('SIGKILL mid-provision: another gateway process finishes it, one container, no orphan, and the agent answers', async () => {
  const first = await gatewayProcess();
  const { signUp } = await call(first.url, SignUp, {
    input: { tenantName: 'crashy', owner: { email: 'crash@example.com', name: 'Crash' } },
  });
  const token: string = signUp.token;
  const { createAgent } = await call(
    first.url,
    CreateRuntimeAgent,
    { input: { name: 'survivor', image: REFERENCE_IMAGE, memoryMb: 16, config: { answers: { ping: 'pong' } } } },
    token,
  );
  const agentId = decodeGlobalId(createAgent.agent.id).id;

  // The moment the engine holds the container, the gateway dies (start takes a few hundred ms).
  const byLabel = { all: true, filters: { label: [`fleetgate.agent=${agentId}`] } };
  let created: Awaited<ReturnType<typeof docker.listContainers>> = [];
  for (const deadline = Date.now() + 20_000; created.length === 0 && Date.now() < deadline; ) {
    created = await docker.listContainers(byLabel);
  }
  expect(created).toHaveLength(1);
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  expect(await agentRow(agentId)).toBe('PROVISIONING'); // it really died mid-provision
  const job = await adminQuery(database.adminUrl, 'select status, locked_by is not null as leased from jobs where agent_id = $1', [
    agentId,
  ]);
  expect(job.rows).toEqual([{ status: 'RUNNING', leased: true }]);

  const second = await gatewayProcess();
  await waitFor(
    () => agentRow(agentId),
    (status) => status === 'RUNNING',
    30_000,
  );
  const containers = await docker.listContainers({ all: true, filters: { label: [`fleetgate.instance=${database.name}`] } });
  expect(containers.map((c) => ({ id: c.Id, state: c.State }))).toEqual([{ id: created[0]?.Id, state: 'running' }]); // adopted, not duplicated
  // Usually the one job, resumed; had the agent started and lost its channel with the old process, a crash restart too.
  const jobs = await adminQuery(database.adminUrl, 'select status from jobs where agent_id = $1', [agentId]);
  expect(jobs.rows.length).toBeGreaterThanOrEqual(1);
  expect(jobs.rows.every((row) => row.status === 'DONE')).toBe(true);

  // The new process holds the agent's channel: work reaches it and the answer comes back.
  const { runTask } = await call(second.url, RunTask, { agentId: createAgent.agent.id, input: 'ping' }, token);
  const answered = await waitFor(
    async () => (await call(second.url, TaskById, { id: runTask.task.id }, token)).task,
    (task) => task.status === 'SUCCEEDED',
    20_000,
  );
  expect(answered.result).toBe('pong');
}, 90_000);
