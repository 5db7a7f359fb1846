import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { createLogger } from '../src/shared/logger.ts';
import { uuidOf } from './support/audit.ts';
import { spawnGateway } from './support/child-gateway.ts';
import { adminQuery, createTestDatabase } from './support/database.ts';
import { docker } from './support/docker.ts';
import { CreateRuntimeAgent, SignUp } from './support/operations.ts';
import { waitUntil } from './support/wait.ts';

const AGENTS = 3;

/**
 * Chaos: gateway processes are SIGKILLed one after another in the middle of provisioning several
 * agents (the first the moment the engine holds any container of them, the second the moment it
 * holds one more), and a third process is left to finish. Afterwards every agent is RUNNING in
 * exactly one running container (adopted or made again, never twice), every job is DONE, and no
 * container of this instance is without its agent.
 */
describe('chaos: the gateway killed during provisioning', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let home: string;
  const kills: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    await docker.ping();
    database = await createTestDatabase();
    home = await mkdtemp(join(tmpdir(), 'fleetgate-chaos-provision-'));
    await openKeyring(join(home, 'keyring'));
  });
  afterAll(async () => {
    for (const kill of kills) await kill();
    const engine = new DockerRuntime({ instance: database.name, log: createLogger({ level: 'silent' }) });
    for (const container of await engine.list()) await engine.remove(container.agentId);
    await database?.drop();
    await rm(home, { recursive: true, force: true });
  });

  const gateway = async () => {
    const started = await spawnGateway('runtime-gateway', {
      APP_URL: appUrlFor(database.adminUrl),
      KEYRING_DIR: join(home, 'keyring'),
      INSTANCE: database.name,
      CHANNEL_ROOT: join(home, 'agents'),
      LEASE_SECONDS: '3',
    });
    kills.push(started.kill);
    return started;
  };
  // biome-ignore lint/suspicious/noExplicitAny: the typed documents' results are read field by field below.
  const call = async (url: string, document: Parameters<typeof print>[0], variables: object, token?: string): Promise<any> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const instanceContainers = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`fleetgate.instance=${database.name}`] } })).map((c) => ({
      id: c.Id,
      agent: c.Labels['fleetgate.agent'] ?? '',
      state: c.State,
    }));

  test('every agent ends RUNNING in exactly one container, every job DONE, no orphan', async () => {
    const first = await gateway();
    const { signUp } = await call(first.url, SignUp, {
      input: { tenantName: 'chaos-provision', owner: { email: 'chaos-provision@example.com', name: 'Chaos' } },
    });
    const token: string = signUp.token;
    const ids: string[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const { createAgent } = await call(
        first.url,
        CreateRuntimeAgent,
        { input: { name: `agent-${i}`, image: REFERENCE_IMAGE, memoryMb: 16 } },
        token,
      );
      ids.push(uuidOf(createAgent.agent.id));
    }

    // Killed as soon as the engine holds any container of this instance.
    const seenByFirst = await waitUntil(async () => (await instanceContainers()).length || undefined, 60_000, 'a first container');
    await first.kill();
    // The next process takes the leased jobs over after the lease; killed as soon as one more container exists.
    const second = await gateway();
    await waitUntil(async () => (await instanceContainers()).length > seenByFirst, 60_000, 'one container more');
    await second.kill();
    const midway = await adminQuery<{ status: string; n: number }>(
      database.adminUrl,
      'select status, count(*)::int as n from agents group by status order by status',
    );
    expect(midway.rows.some((row) => row.status !== 'RUNNING')).toBe(true); // it really died with work left

    await gateway();
    const diagnose = async () =>
      JSON.stringify({
        agents: (await adminQuery(database.adminUrl, 'select id, status, status_reason, container_id from agents')).rows,
        jobs: (await adminQuery(database.adminUrl, 'select agent_id, kind, status, attempts, last_error, run_at, locked_by from jobs'))
          .rows,
        containers: await instanceContainers(),
      });
    await waitUntil(
      async () => {
        const { rows } = await adminQuery<{ n: number }>(
          database.adminUrl,
          "select count(*)::int as n from agents where status = 'RUNNING'",
        );
        const containers = await instanceContainers();
        return rows[0]?.n === AGENTS && containers.length === AGENTS && containers.every((c) => c.state === 'running');
      },
      90_000,
      'every agent running',
    ).catch(async (error) => {
      throw new Error(`${error.message}: ${await diagnose()}`);
    });
    // One container per agent, each an agent of the database: nothing doubled, nothing orphaned.
    expect((await instanceContainers()).map((c) => c.agent).sort()).toEqual([...ids].sort());
    const { rows: jobs } = await adminQuery<{ status: string }>(database.adminUrl, 'select distinct status from jobs');
    expect(jobs).toEqual([{ status: 'DONE' }]);
  }, 150_000);
});
