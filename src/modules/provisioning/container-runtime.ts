/**
 * The container engine behind the agent runtime. Docker (dockerode) is one implementation; a
 * Kubernetes driver implements the same interface. Every method addresses containers by agent id
 * and only ever sees containers labelled with this gateway's instance.
 */
export interface ContainerRuntime {
  readonly kind: string;
  /** Resolves when the engine answers; rejects with EngineUnavailableError otherwise. */
  ping(): Promise<void>;
  /** The sandbox levels this engine can run now (asked of the engine, not assumed). */
  sandboxLevels(): Promise<SandboxLevel[]>;
  /** Makes sure the image exists locally, building it from `build` when given and missing. */
  ensureImage(image: string, build?: ImageBuild): Promise<void>;
  /** Creates the agent's hardened container and workspace; returns the existing one if it already exists. */
  create(spec: AgentContainerSpec): Promise<string>;
  /** Starts the container; start secrets follow through the agent's channel (AgentChannels.deliverStart). */
  start(agentId: string): Promise<void>;
  /** Stops the container (SIGTERM, then SIGKILL after `timeoutSeconds`); a stopped or missing container is fine. */
  stop(agentId: string, timeoutSeconds?: number): Promise<void>;
  /** Removes the container and (unless kept) its workspace volume and the file system behind it; missing ones are fine. */
  remove(agentId: string, options?: { keepWorkspace?: boolean }): Promise<void>;
  /** The engine's view of the agent's container, or null when there is none. */
  inspect(agentId: string): Promise<ContainerState | null>;
  /** The last `tail` lines of the container's stdout and stderr. */
  logs(agentId: string, tail: number): Promise<string>;
  /** Every container of this gateway instance, by label. */
  list(): Promise<ContainerSummary[]>;
  /** Every tenant network of this gateway instance, by label. */
  listNetworks(): Promise<TenantNetwork[]>;
  /** Removes the tenant's network; false when containers are still attached (try again later). */
  removeNetwork(tenantId: string): Promise<boolean>;
  /** The containers attached to the tenant's network now, with their addresses (none when it has no network). */
  tenantEndpoints(tenantId: string): Promise<{ containerId: string; address: string }[]>;
}

export interface TenantNetwork {
  id: string;
  name: string;
  tenantId: string;
}

export interface ImageBuild {
  /** A tar archive holding a Dockerfile and its context. */
  context: () => Promise<Buffer>;
}

export interface AgentContainerSpec {
  tenantId: string;
  agentId: string;
  image: string;
  /** null: the image's default command. */
  command: string[] | null;
  memoryMb: number;
  cpuMillis: number;
  /** Host directory holding the agent's private channel, mounted read-only at /run/fleetgate. */
  channelDir: string;
  /**
   * Off (the default): no network at all, only `lo`. On: the container joins its tenant's own
   * `--internal` bridge network (no route out), created on demand, shared with that tenant's other
   * egress agents and no one else's; its only way out is the egress proxy on the host side of that bridge.
   */
  egress?: boolean;
  /** With egress: the port of the egress proxy at the bridge's gateway address, put into HTTP_PROXY/HTTPS_PROXY. */
  egressProxyPort?: number;
  /** The isolation level (default RUNC); the engine must offer it (see sandboxLevels), it is never swapped for another. */
  sandbox?: SandboxLevel;
  /** Size of the agent's workspace file system, MB (default 1024): writes past it fail with ENOSPC inside the agent. */
  workspaceMb?: number;
}

export interface ContainerState {
  id: string;
  image: string;
  running: boolean;
  /** The engine's word: created, running, exited, dead, … */
  state: string;
  startedAt: Date | null;
  exitCode: number | null;
  oomKilled: boolean;
  /** On a network (its tenant's); false: NetworkMode none. */
  egress: boolean;
  /** With egress and running: the container's address on its tenant network and that network's gateway (the host side). */
  network?: { address: string; gateway: string } | null;
  /** The level the container was created under. */
  sandbox: SandboxLevel;
}

export interface ContainerSummary {
  id: string;
  tenantId: string;
  agentId: string;
  running: boolean;
}

/**
 * How an agent is isolated from the host and its neighbours. Both levels get every hardening option
 * below; GVISOR adds gVisor's user-space kernel (runsc): the agent's system calls are served by
 * gVisor, not by the host kernel, so a kernel exploit inside reaches gVisor's sentry, itself
 * confined by seccomp. GVISOR containers have no network stack at all (this runsc cannot join a
 * bridge network), so egress agents run under RUNC.
 */
export const SANDBOX_LEVELS = ['RUNC', 'GVISOR'] as const;
export type SandboxLevel = (typeof SANDBOX_LEVELS)[number];

/** Fixed hardening values, the same for every agent (per-agent memory and CPU come from the agent). */
export const HARDENING = {
  user: '65534:65534',
  /** The agent's processes and threads (RUNC: the host's pids cgroup; GVISOR: RLIMIT_NPROC in gVisor's kernel). */
  pidsLimit: 128,
  /** Below this memory an agent that asks for no level runs under RUNC (gVisor's kernel takes 15-20 MB of it). */
  gvisorMinMemoryMb: 64,
  /** GVISOR: the host pids cgroup of the whole sandbox (gVisor's kernel threads and stubs included). */
  gvisorSandboxPidsLimit: 1024,
  /** Scratch space: memory-backed, bounded by its size (and charged to the container's memory limit). */
  tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m' },
  scratchMb: 16,
  /** The workspace size when neither the agent's tenant nor the caller gives one. */
  workspaceMb: 1024,
  /** Where the agent's channel directory appears inside its container. */
  channelMount: '/run/fleetgate',
  workspaceMount: '/workspace',
} as const;

export const LABELS = {
  instance: 'fleetgate.instance',
  tenant: 'fleetgate.tenant',
  agent: 'fleetgate.agent',
} as const;

/** The agent asked for (or its tenant requires) a sandbox level this engine cannot run: nothing was created. */
export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

/** The engine did not answer: callers retry later; nothing was created. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

declare module '../../db/regions.ts' {
  interface RegionServices {
    /** The container engine running this region's agents (absent: they are recorded and their jobs wait). */
    engine: ContainerRuntime;
  }
}
