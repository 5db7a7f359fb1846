import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isCanonicalUuid } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';

const run = promisify(execFile);
const AGENT_UID = 65534;

/**
 * One size-limited ext4 file system per agent workspace: a sparse image file `<root>/<agent>.ext4`
 * loop-mounted (nosuid, nodev, noexec) at `<root>/<agent>/`, which the engine mounts into the
 * container as a bind-backed local volume. The kernel enforces the size: a write past it fails with
 * ENOSPC inside the agent, and the host's own disk and every other agent's workspace are untouched.
 * No polling, no engine storage driver support needed (overlay2 on ext4 has no `--storage-opt size`).
 *
 * Needs root on the host (mount). The image is sparse: an agent uses host disk only for what it wrote.
 * A host reboot loses the mount, not the image: `ensure` mounts it again before the next start.
 */
export class WorkspaceVolumes {
  readonly #root: string;
  readonly #log: Logger;

  constructor(root: string, log: Logger) {
    this.#root = root;
    this.#log = log.child({ component: 'workspace-volumes' });
  }

  dirOf(agentId: string): string {
    if (!isCanonicalUuid(agentId)) throw new Error('invalid agent id');
    return join(this.#root, agentId);
  }

  imageOf(agentId: string): string {
    return `${this.dirOf(agentId)}.ext4`;
  }

  /** The mounted workspace directory, made (sizeMb) on first use; an existing image keeps its size. */
  async ensure(agentId: string, sizeMb: number): Promise<string> {
    const dir = this.dirOf(agentId);
    if (await this.#mounted(dir)) return dir;
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const image = this.imageOf(agentId);
    const fresh = !(await exists(image));
    if (fresh) await this.#makeImage(image, sizeMb);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await run('mount', ['-o', 'loop,nosuid,nodev,noexec', image, dir]);
    if (fresh) await rmdir(join(dir, 'lost+found')).catch(() => undefined);
    this.#log.info({ agentId, sizeMb, fresh }, 'workspace file system mounted');
    return dir;
  }

  /**
   * Made under a temporary name and renamed into place once formatted: a gateway killed between
   * `truncate` and the end of `mkfs` (chaos-provisioning-kill did) left an unformatted image under
   * the final name, which every later attempt found, took for made and failed to mount for good.
   */
  async #makeImage(image: string, sizeMb: number): Promise<void> {
    const partial = `${image}.partial`;
    await rm(partial, { force: true });
    await run('truncate', ['-s', `${sizeMb}M`, partial]);
    // No reserved blocks (the agent gets all of it); the root directory owned by the agent's user.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', `root_owner=${AGENT_UID}:${AGENT_UID}`, partial]);
    await rename(partial, image);
  }

  /** Mounts an existing workspace again (after a host reboot); nothing to do when mounted or never made. */
  async remount(agentId: string): Promise<void> {
    const image = this.imageOf(agentId);
    if ((await this.#mounted(this.dirOf(agentId))) || !(await exists(image))) return;
    await mkdir(this.dirOf(agentId), { recursive: true, mode: 0o700 });
    await run('mount', ['-o', 'loop,nosuid,nodev,noexec', image, this.dirOf(agentId)]);
    this.#log.info({ agentId }, 'workspace file system mounted again');
  }

  /** Unmounts and deletes the agent's workspace; a missing one is fine. */
  async remove(agentId: string): Promise<void> {
    const dir = this.dirOf(agentId);
    if (await this.#mounted(dir)) await this.#unmount(agentId, dir);
    await rm(this.imageOf(agentId), { force: true });
    await rm(`${this.imageOf(agentId)}.partial`, { force: true });
    await rm(dir, { recursive: true, force: true });
    this.#log.info({ agentId }, 'workspace file system removed');
  }

  /**
   * The loop device was set up by mount -o loop with autoclear: unmounting frees it too. A failed
   * umount is looked at again before it counts: two removes of one agent at once (a restart job's and
   * a tenant erasure's) both saw the mount, and the later one's umount answered "not mounted" (CI,
   * 2026-12-05). Gone is what a remove wants, whoever unmounted it; a busy one is detached lazily.
   */
  async #unmount(agentId: string, dir: string): Promise<void> {
    try {
      await run('umount', [dir]);
    } catch (error) {
      if (!(await this.#mounted(dir))) return;
      this.#log.warn({ agentId, err: error }, 'workspace busy; detaching lazily');
      await run('umount', ['-l', dir]).catch(async (lazyError) => {
        if (await this.#mounted(dir)) throw lazyError;
      });
    }
  }

  async #mounted(dir: string): Promise<boolean> {
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    return mounts.split('\n').some((line) => line.split(' ')[1] === dir);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
