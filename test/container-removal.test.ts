import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { referenceImage } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { WorkspaceVolumes } from '../src/modules/provisioning/workspace-volume.ts';
import { createLogger } from '../src/shared/logger.ts';
import { docker } from './support/docker.ts';

// Regression (CI, 2026-12-05): a tenant's erasure failed at its runtime step when its remove of an
// agent's container met another one already under way (a restart job's): the engine answers the
// second with 409 "removal of container … is already in progress".
describe('removing an agent container', () => {
  const runtime = new DockerRuntime({ instance: `removal-${randomUUID()}`, log: createLogger({ level: 'silent' }) });
  let home: string;
  let image: string;

  beforeAll(async () => {
    await docker.ping();
    home = await mkdtemp(join(tmpdir(), 'fleetgate-removal-'));
    const reference = await referenceImage();
    await runtime.ensureImage(reference.tag, reference.build);
    image = reference.tag;
  }, 120_000);
  afterAll(async () => {
    for (const container of await runtime.list()) await runtime.remove(container.agentId);
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('two removes of one running container at once both succeed, and it is gone', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 5; round++) {
      const agentId = randomUUID();
      await runtime.create({
        tenantId: randomUUID(),
        agentId,
        image,
        command: ['sleep', '600'],
        memoryMb: 32,
        cpuMillis: 250,
        channelDir: home,
        workspaceMb: 16,
      });
      await runtime.start(agentId);
      // The engine answers the later of two concurrent removes with 409 (most rounds, on this machine).
      const outcomes = await Promise.allSettled([runtime.remove(agentId), runtime.remove(agentId)]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') failures.push(String(outcome.reason));
      expect(await runtime.inspect(agentId)).toBeNull();
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

// Regression (CI, 2026-12-05): of two removes at once, both saw the workspace mounted; the later
// one's umount answered "not mounted" and its remove failed, though the workspace was gone.
describe('removing an agent workspace', () => {
  let root: string;
  let workspaces: WorkspaceVolumes;
  const made: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetgate-workspaces-'));
    workspaces = new WorkspaceVolumes(root, createLogger({ level: 'silent' }));
  });
  afterAll(async () => {
    // A round that failed may have left its loop mount behind: unmounted before the directory goes.
    for (const agentId of made) await workspaces.remove(agentId);
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('two removes of one mounted workspace at once both succeed, and nothing is left', async () => {
    for (let round = 0; round < 10; round++) {
      const agentId = randomUUID();
      made.push(agentId);
      const dir = await workspaces.ensure(agentId, 8);
      expect(await mountedAt(dir)).toBe(true);
      const outcomes = await Promise.allSettled([workspaces.remove(agentId), workspaces.remove(agentId)]);
      expect(outcomes.map((outcome) => (outcome.status === 'rejected' ? String(outcome.reason) : 'ok'))).toEqual(['ok', 'ok']);
      expect(await mountedAt(dir)).toBe(false);
      await expect(stat(workspaces.imageOf(agentId))).rejects.toThrow(/ENOENT/);
      await expect(stat(dir)).rejects.toThrow(/ENOENT/);
    }
  }, 60_000);
});

async function mountedAt(dir: string): Promise<boolean> {
  return (await readFile('/proc/self/mounts', 'utf8')).split('\n').some((line) => line.split(' ')[1] === dir);
}
