import { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { Logger } from '../../shared/logger.ts';
import {
  type AgentContainerSpec,
  type ContainerRuntime,
  type ContainerState,
  type ContainerSummary,
  EngineUnavailableError,
  HARDENING,
  type ImageBuild,
  LABELS,
} from './container-runtime.ts';

export interface DockerRuntimeOptions {
  /** Labels every container and volume; the reconciler touches nothing without it. */
  instance: string;
  log: Logger;
  /** Default: the local engine's socket (`/var/run/docker.sock`, or DOCKER_HOST). */
  socketPath?: string;
}

/**
 * The Docker engine through dockerode. Each engine call is logged before and after with the agent
 * and container ids; a failure is logged and rethrown (connection failures as EngineUnavailableError).
 * The container never gets a secret: no environment at all, the channel is a mounted directory.
 */
export class DockerRuntime implements ContainerRuntime {
  readonly kind = 'docker';
  readonly #docker: Docker;
  readonly #instance: string;
  readonly #log: Logger;

  constructor(options: DockerRuntimeOptions) {
    this.#docker = new Docker(options.socketPath ? { socketPath: options.socketPath } : undefined);
    this.#instance = options.instance;
    this.#log = options.log.child({ component: 'docker-runtime', instance: options.instance });
  }

  static containerName(agentId: string): string {
    return `fleetgate-agent-${agentId}`;
  }

  static volumeName(agentId: string): string {
    return `fleetgate-workspace-${agentId}`;
  }

  async ping(): Promise<void> {
    await this.#call('ping', {}, () => this.#docker.ping());
  }

  async ensureImage(image: string, build?: ImageBuild): Promise<void> {
    const present = await this.#call('image.inspect', { image }, async () => {
      try {
        await this.#docker.getImage(image).inspect();
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    });
    if (present) return;
    if (!build) throw new Error(`image ${image} is not present on the engine and cannot be pulled here`);
    await this.#call('image.build', { image }, async () => {
      const context = Readable.from([await build.context()]);
      const stream: NodeJS.ReadableStream = await this.#docker.buildImage(context, { t: image, rm: true, forcerm: true });
      // buildImage resolves when the build starts; failures arrive as {error} events in the stream.
      const events = await new Promise<{ error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) =>
        this.#docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output ?? []))),
      );
      const failure = events.find((event) => event.error);
      if (failure) throw new Error(`image build failed: ${failure.errorDetail?.message ?? failure.error}`);
    });
  }

  async create(spec: AgentContainerSpec): Promise<string> {
    const name = DockerRuntime.containerName(spec.agentId);
    const labels = { [LABELS.instance]: this.#instance, [LABELS.tenant]: spec.tenantId, [LABELS.agent]: spec.agentId };
    const memory = spec.memoryMb * 1024 * 1024;
    return this.#call('container.create', { agentId: spec.agentId, image: spec.image }, async () => {
      try {
        const container: Docker.Container = await this.#docker.createContainer({
          name,
          Image: spec.image,
          ...(spec.command ? { Cmd: spec.command } : {}),
          User: HARDENING.user,
          WorkingDir: HARDENING.workspaceMount,
          Env: [],
          Labels: labels,
          HostConfig: {
            NetworkMode: 'none',
            ReadonlyRootfs: true,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            Privileged: false,
            PidsLimit: HARDENING.pidsLimit,
            Memory: memory,
            MemorySwap: memory, // no swap beyond the memory limit
            NanoCpus: spec.cpuMillis * 1_000_000,
            Tmpfs: { ...HARDENING.tmpfs },
            IpcMode: 'private',
            RestartPolicy: { Name: 'no' }, // the reconciler decides, per policy
            LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
            Mounts: [
              {
                Type: 'volume',
                Source: DockerRuntime.volumeName(spec.agentId),
                Target: HARDENING.workspaceMount,
                // The image's /workspace (owned by the agent's user) is copied into the fresh volume.
                VolumeOptions: { Labels: labels, NoCopy: false, DriverConfig: { Name: 'local', Options: {} } },
              },
              { Type: 'bind', Source: spec.channelDir, Target: HARDENING.channelMount, ReadOnly: true },
            ],
          },
        });
        return container.id;
      } catch (error) {
        // Created by an earlier attempt that crashed before recording it: adopt it if it is ours.
        if (statusOf(error) !== 409) throw error;
        const existing = await this.#docker.getContainer(name).inspect();
        if (existing.Config.Labels?.[LABELS.agent] !== spec.agentId || existing.Config.Labels?.[LABELS.tenant] !== spec.tenantId) {
          throw new Error(`container ${name} exists with foreign labels`);
        }
        return existing.Id;
      }
    });
  }

  async start(agentId: string): Promise<void> {
    await this.#call('container.start', { agentId }, async () => {
      try {
        await this.#docker.getContainer(DockerRuntime.containerName(agentId)).start();
      } catch (error) {
        if (statusOf(error) !== 304) throw error; // already started
      }
    });
  }

  async stop(agentId: string, timeoutSeconds = 5): Promise<void> {
    await this.#call('container.stop', { agentId }, async () => {
      try {
        await this.#docker.getContainer(DockerRuntime.containerName(agentId)).stop({ t: timeoutSeconds });
      } catch (error) {
        if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
      }
    });
  }

  async remove(agentId: string, options: { keepWorkspace?: boolean } = {}): Promise<void> {
    await this.#call('container.remove', { agentId, keepWorkspace: options.keepWorkspace ?? false }, async () => {
      try {
        await this.#docker.getContainer(DockerRuntime.containerName(agentId)).remove({ force: true });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      if (options.keepWorkspace) return;
      try {
        await this.#docker.getVolume(DockerRuntime.volumeName(agentId)).remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }

  async inspect(agentId: string): Promise<ContainerState | null> {
    return this.#call('container.inspect', { agentId }, async () => {
      try {
        const info = await this.#docker.getContainer(DockerRuntime.containerName(agentId)).inspect();
        if (info.Config.Labels?.[LABELS.instance] !== this.#instance) return null;
        const started = info.State.StartedAt && !info.State.StartedAt.startsWith('0001') ? new Date(info.State.StartedAt) : null;
        const exited = info.State.Status === 'exited' || info.State.Status === 'dead';
        return {
          id: info.Id,
          image: info.Config.Image,
          running: info.State.Running,
          state: info.State.Status,
          startedAt: started,
          exitCode: exited ? info.State.ExitCode : null,
          oomKilled: info.State.OOMKilled,
        };
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    });
  }

  async logs(agentId: string, tail: number): Promise<string> {
    return this.#call('container.logs', { agentId, tail }, async () => {
      try {
        const raw = (await this.#docker
          .getContainer(DockerRuntime.containerName(agentId))
          .logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
        return demux(Buffer.from(raw));
      } catch (error) {
        if (statusOf(error) === 404) return '';
        throw error;
      }
    });
  }

  async list(): Promise<ContainerSummary[]> {
    return this.#call('container.list', {}, async () => {
      const containers = await this.#docker.listContainers({ all: true, filters: { label: [`${LABELS.instance}=${this.#instance}`] } });
      return containers.map((c) => ({
        id: c.Id,
        tenantId: c.Labels[LABELS.tenant] ?? '',
        agentId: c.Labels[LABELS.agent] ?? '',
        running: c.State === 'running',
      }));
    });
  }

  async #call<T>(operation: string, ids: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    this.#log.debug({ operation, ...ids }, 'engine call');
    try {
      const result = await fn();
      this.#log.debug({ operation, ...ids, ms: Math.round(performance.now() - started) }, 'engine call done');
      return result;
    } catch (error) {
      const unavailable = isConnectionError(error);
      this.#log.warn({ operation, ...ids, err: error, unavailable }, 'engine call failed');
      if (unavailable) throw new EngineUnavailableError(`container engine unreachable during ${operation}`, { cause: error });
      throw error;
    }
  }
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
}

function isConnectionError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  return ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'EPIPE', 'ETIMEDOUT'].includes(code);
}

/** Non-TTY logs interleave stdout and stderr in frames with an 8-byte header (stream, 0, 0, 0, size). */
export function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
