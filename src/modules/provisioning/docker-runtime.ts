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
  type SandboxLevel,
  SandboxUnavailableError,
  type TenantNetwork,
} from './container-runtime.ts';
import { WorkspaceVolumes } from './workspace-volume.ts';

export interface DockerRuntimeOptions {
  /** Labels every container and volume; the reconciler touches nothing without it. */
  instance: string;
  log: Logger;
  /** Default: the local engine's socket (`/var/run/docker.sock`, or DOCKER_HOST). */
  socketPath?: string;
  /**
   * The engine's name for gVisor (default `runsc`): GVISOR is offered when `docker info` lists a
   * runtime of this name. Register it in /etc/docker/daemon.json (see docs/security-model.md).
   */
  gvisorRuntime?: string;
  /** Host directory for the agents' workspace file systems (default /var/lib/fleetgate/workspaces). */
  workspaceRoot?: string;
}

/** How long a remove waits for a container the engine is already removing (or still reaping) to be gone. */
const REMOVAL_WAIT_MS = 30_000;

/**
 * The Docker engine through dockerode. Each engine call is logged before and after with the agent
 * and container ids; a failure is logged and rethrown (connection failures as EngineUnavailableError).
 * The container never gets a secret: no environment at all, no stdin; the channel is a mounted
 * directory, and start secrets are the answer to the entrypoint's START on it (AgentChannels.deliverStart).
 */
export class DockerRuntime implements ContainerRuntime {
  readonly kind = 'docker';
  readonly #docker: Docker;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #networkCreations = new Map<string, Promise<string>>();
  readonly #gvisorRuntime: string;
  readonly #workspaces: WorkspaceVolumes;

  constructor(options: DockerRuntimeOptions) {
    this.#docker = new Docker(options.socketPath ? { socketPath: options.socketPath } : undefined);
    this.#instance = options.instance;
    this.#log = options.log.child({ component: 'docker-runtime', instance: options.instance });
    this.#gvisorRuntime = options.gvisorRuntime ?? 'runsc';
    this.#workspaces = new WorkspaceVolumes(options.workspaceRoot ?? '/var/lib/fleetgate/workspaces', this.#log);
  }

  static containerName(agentId: string): string {
    return `fleetgate-agent-${agentId}`;
  }

  static volumeName(agentId: string): string {
    return `fleetgate-workspace-${agentId}`;
  }

  /** One bridge network per tenant and instance: egress agents of one tenant share it, no one else joins it. */
  static networkName(instance: string, tenantId: string): string {
    return `fleetgate-${instance}-tenant-${tenantId}`;
  }

  async ping(): Promise<void> {
    await this.#call('ping', {}, () => this.#docker.ping());
  }

  /** Asked of the engine each time (a cheap call): a runtime registered or removed later counts at once. */
  async sandboxLevels(): Promise<SandboxLevel[]> {
    const info = await this.#call('info', {}, () => this.#docker.info() as Promise<{ Runtimes?: Record<string, unknown> }>);
    return this.#gvisorRuntime in (info.Runtimes ?? {}) ? ['RUNC', 'GVISOR'] : ['RUNC'];
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
    const gvisor = spec.sandbox === 'GVISOR';
    if (gvisor && spec.egress) throw new SandboxUnavailableError('the GVISOR sandbox has no network here: egress agents run under RUNC');
    if (gvisor && !(await this.sandboxLevels()).includes('GVISOR')) {
      throw new SandboxUnavailableError(`the engine offers no ${this.#gvisorRuntime} runtime for the GVISOR sandbox`);
    }
    const networkMode = spec.egress ? await this.#ensureTenantNetwork(spec.tenantId) : 'none';
    const env = spec.egress && spec.egressProxyPort ? proxyEnvironment(await this.#gatewayOf(networkMode), spec.egressProxyPort) : [];
    const workspace = await this.#workspaces.ensure(spec.agentId, spec.workspaceMb ?? HARDENING.workspaceMb);
    const ids = { agentId: spec.agentId, image: spec.image, networkMode, sandbox: spec.sandbox ?? 'RUNC' };
    return this.#call('container.create', ids, async () => {
      try {
        const container: Docker.Container = await this.#docker.createContainer({
          name,
          Image: spec.image,
          ...(spec.command ? { Cmd: spec.command } : {}),
          User: HARDENING.user,
          WorkingDir: HARDENING.workspaceMount,
          Env: env, // no secret ever: only the egress proxy's address
          Labels: labels,
          HostConfig: {
            Runtime: gvisor ? this.#gvisorRuntime : 'runc',
            NetworkMode: networkMode,
            ReadonlyRootfs: true,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            Privileged: false,
            ...processLimits(gvisor),
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
                // Backed by the agent's own size-limited file system (see WorkspaceVolumes).
                VolumeOptions: {
                  Labels: labels,
                  NoCopy: true,
                  DriverConfig: { Name: 'local', Options: { type: 'none', o: 'bind', device: workspace } },
                },
              },
              // gVisor refuses writes to a FIFO on a read-only mount (Linux allows them), so under GVISOR
              // the channel is mounted read-write: its directory is root's and 0755, so the agent still
              // cannot create, rename or remove anything in it (tested).
              { Type: 'bind', Source: spec.channelDir, Target: HARDENING.channelMount, ReadOnly: !gvisor },
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
    await this.#workspaces.remount(agentId);
    await this.#call('container.start', { agentId }, async () => {
      try {
        await this.#docker.getContainer(DockerRuntime.containerName(agentId)).start();
      } catch (error) {
        if (statusOf(error) !== 304) throw error; // 304: already running
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
      await this.#forceRemove(DockerRuntime.containerName(agentId));
      if (options.keepWorkspace) return;
      try {
        await this.#docker.getVolume(DockerRuntime.volumeName(agentId)).remove();
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      await this.#workspaces.remove(agentId);
    });
  }

  /**
   * A force-remove, retried until the container is gone (404) while the engine answers that it will
   * be soon, for at most REMOVAL_WAIT_MS; any other error, or one past that, stands:
   * - 500 "PID … is zombie and can not be killed": a gVisor sandbox still exiting (runsc's sandbox
   *   process not yet reaped), gone in well under a second;
   * - 409 "removal of container … is already in progress": another remove of the same agent got
   *   there first. In CI a restart job (a new credential recreates the container) was removing it
   *   when the tenant's erasure did: the erasure failed at its runtime step, and once the other
   *   removal outlasted five retries over two seconds.
   */
  async #forceRemove(name: string): Promise<void> {
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#docker.getContainer(name).remove({ force: true });
        return;
      } catch (error) {
        if (statusOf(error) === 404) return;
        if (Date.now() > deadline || !/is zombie|already in progress/.test(String((error as Error).message))) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * attempt, 1_000)));
      }
    }
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
          egress: info.HostConfig.NetworkMode !== 'none',
          network: networkOf(info.NetworkSettings.Networks?.[info.HostConfig.NetworkMode ?? '']),
          sandbox: info.HostConfig.Runtime === this.#gvisorRuntime ? 'GVISOR' : 'RUNC',
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

  async listNetworks(): Promise<TenantNetwork[]> {
    return this.#call('network.list', {}, async () => {
      const networks = await this.#docker.listNetworks({ filters: { label: [`${LABELS.instance}=${this.#instance}`] } });
      return networks.map((n) => ({ id: n.Id, name: n.Name, tenantId: n.Labels?.[LABELS.tenant] ?? '' }));
    });
  }

  async removeNetwork(tenantId: string): Promise<boolean> {
    const name = DockerRuntime.networkName(this.#instance, tenantId);
    return this.#call('network.remove', { tenantId, name }, async () => {
      let removed = true;
      for (const network of await this.#networksNamed(name)) removed = (await this.#removeNetworkById(network.Id)) && removed;
      return removed;
    });
  }

  async tenantEndpoints(tenantId: string): Promise<{ containerId: string; address: string }[]> {
    const name = DockerRuntime.networkName(this.#instance, tenantId);
    return this.#call('network.endpoints', { tenantId, name }, async () => {
      const endpoints: { containerId: string; address: string }[] = [];
      for (const network of await this.#networksNamed(name)) {
        const info = await this.#docker.getNetwork(network.Id).inspect();
        for (const [containerId, endpoint] of Object.entries(info.Containers ?? {})) {
          const address = String((endpoint as { IPv4Address?: string }).IPv4Address ?? '').split('/')[0];
          if (address) endpoints.push({ containerId, address });
        }
      }
      return endpoints;
    });
  }

  /**
   * The tenant's own bridge network, created on first use and labelled with instance and tenant.
   * A network of that name with other labels is refused, never joined. Default bridge settings: the
   * engine's iptables rules isolate it from every other bridge network (dockerd must run with iptables on).
   *
   * The engine does not make names unique: `CheckDuplicate` is best effort, and two creates in flight
   * together both succeed (seen in CI: two egress agents of one tenant starting at once). A name held
   * by two networks cannot be joined, so creations are single-flight per tenant in this process, and
   * whoever finds duplicates (another replica's race) keeps the oldest, which every replica picks
   * alike, and removes the others.
   */
  #ensureTenantNetwork(tenantId: string): Promise<string> {
    let pending = this.#networkCreations.get(tenantId);
    if (!pending) {
      pending = this.#createTenantNetwork(tenantId).finally(() => this.#networkCreations.delete(tenantId));
      this.#networkCreations.set(tenantId, pending);
    }
    return pending;
  }

  async #createTenantNetwork(tenantId: string): Promise<string> {
    const name = DockerRuntime.networkName(this.#instance, tenantId);
    return this.#call('network.ensure', { tenantId, name }, async () => {
      let networks = await this.#networksNamed(name);
      if (networks.length === 0) {
        try {
          await this.#docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            CheckDuplicate: true,
            // No route out (no NAT, no forwarding): the egress proxy on the host side is the only way.
            Internal: true,
            Attachable: false,
            Labels: { [LABELS.instance]: this.#instance, [LABELS.tenant]: tenantId },
          });
        } catch (error) {
          if (statusOf(error) !== 409) throw error; // created concurrently elsewhere: checked below
        }
        networks = await this.#networksNamed(name);
      }
      if (networks.some((n) => n.Labels?.[LABELS.instance] !== this.#instance || n.Labels?.[LABELS.tenant] !== tenantId)) {
        throw new Error(`network ${name} exists with foreign labels`);
      }
      const [kept, ...duplicates] = networks.sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || a.Id.localeCompare(b.Id));
      if (!kept) throw new Error(`network ${name} was removed while it was being created`);
      for (const duplicate of duplicates) {
        this.#log.warn({ tenantId, name, kept: kept.Id, removed: duplicate.Id }, 'removing a duplicate tenant network');
        await this.#removeNetworkById(duplicate.Id);
      }
      // A network from before the egress proxy (with a route out) is never joined again: replaced
      // once none of its agents is attached, refused until then.
      if (!kept.Internal) {
        if (!(await this.#removeNetworkById(kept.Id))) throw new Error(`network ${name} is not internal: stop its agents to replace it`);
        this.#log.warn({ tenantId, name, removed: kept.Id }, 'replaced a tenant network that was not internal');
        return this.#createTenantNetwork(tenantId);
      }
      return name;
    });
  }

  /** The host side of the tenant network: its gateway address, where the egress proxy listens. */
  async #gatewayOf(network: string): Promise<string> {
    const info = await this.#call('network.inspect', { network }, () => this.#docker.getNetwork(network).inspect());
    const gateway = (info.IPAM?.Config ?? []).map((config: { Gateway?: string }) => config.Gateway).find(Boolean);
    if (!gateway) throw new Error(`network ${network} has no gateway address`);
    return gateway;
  }

  /** Networks whose name is exactly `name` (the engine's name filter matches substrings). */
  async #networksNamed(name: string): Promise<Docker.NetworkInspectInfo[]> {
    return (await this.#docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
  }

  /** False when endpoints are still attached; a network already gone counts as removed. */
  async #removeNetworkById(id: string): Promise<boolean> {
    try {
      await this.#docker.getNetwork(id).remove();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return true;
      if (statusOf(error) === 403 || statusOf(error) === 409) return false;
      throw error;
    }
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

/**
 * The agent's process limit. Under RUNC the host's pids cgroup counts the agent's processes and
 * threads: 128. Under GVISOR (ptrace platform) that cgroup also counts the sandbox's own kernel: about
 * 60 sentry threads at rest and, per agent process, a host stub process and tracer threads, a count
 * that climbs with every `docker exec` (measured: 63 → 122 after five execs). At 128 the sentry could
 * not create a thread and the whole sandbox exited: the "unexplained" GVISOR instability of
 * 2026-12-04. So under GVISOR the agent's limit is enforced by gVisor's own kernel
 * (RLIMIT_NPROC = 128: fork fails with EAGAIN inside; the uid is the sandbox's, not shared with other
 * containers as it would be under RUNC) and the host cgroup only bounds the sandbox as a whole.
 */
function processLimits(gvisor: boolean): Pick<Docker.HostConfig, 'PidsLimit' | 'Ulimits'> {
  if (!gvisor) return { PidsLimit: HARDENING.pidsLimit };
  return {
    PidsLimit: HARDENING.gvisorSandboxPidsLimit,
    Ulimits: [{ Name: 'nproc', Soft: HARDENING.pidsLimit, Hard: HARDENING.pidsLimit }],
  };
}

/** What HTTP clients read to find a proxy (curl reads the lowercase http_proxy only). */
function proxyEnvironment(gateway: string, port: number): string[] {
  const url = `http://${gateway}:${port}`;
  return [`HTTP_PROXY=${url}`, `HTTPS_PROXY=${url}`, `http_proxy=${url}`, `https_proxy=${url}`, 'NO_PROXY=', 'no_proxy='];
}

function networkOf(endpoint: { IPAddress?: string; Gateway?: string } | undefined): { address: string; gateway: string } | null {
  return endpoint?.IPAddress && endpoint.Gateway ? { address: endpoint.IPAddress, gateway: endpoint.Gateway } : null;
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
