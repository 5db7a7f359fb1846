import type { EntityManager } from '@mikro-orm/postgresql';
import { KeyProviderUnavailableError } from '../../keys/index.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { Secret } from '../../shared/secret.ts';
import { CredentialUnreadableError, encodeStartPayload, type StartSecret, type StartSecretSource } from '../credentials/index.ts';
import type { EgressProxy } from '../egress/egress-proxy.ts';
import { parseEgressRule } from '../egress/index.ts';
import { revokeAgentTokens } from '../memory/agent-tokens.ts';
import type { AgentChannels } from './agent-channel.ts';
import type { ReferenceImage } from './agent-image.ts';
import {
  type ContainerRuntime,
  type ContainerState,
  EngineUnavailableError,
  HARDENING,
  type SandboxLevel,
  SandboxUnavailableError,
} from './container-runtime.ts';
import { type CrashLoopPolicy, DEFAULT_CRASH_LOOP, exitReason, handleExit, type RestartPolicy } from './crash-loop.ts';
import type { ImageAllowList } from './image-allow-list.ts';
import { enqueueJob, type Job } from './job-queue.ts';
import {
  type AgentRow,
  agentToProvision,
  recordWorkspaceSize,
  runningAgentIds,
  type StatusChange,
  tenantStatus,
  updateAgentStatus,
} from './provisioning.store.ts';

export interface ProvisionerDeps {
  runtime: ContainerRuntime;
  channels: AgentChannels;
  allowList: ImageAllowList;
  /** Built on demand (content-hashed tag) when an agent needs it and the engine lacks it. */
  reference: ReferenceImage;
  log: Logger;
  metrics: Metrics;
  /** A container that exits right after its start counts as a crash, like one the reconciler finds exited. */
  restartPolicy?: RestartPolicy;
  crashLoop?: CrashLoopPolicy;
  /** Secrets each start hands to the agent's process (its credentials, …); none when absent. */
  startSecrets?: StartSecretSource[];
  /**
   * The egress proxy egress agents reach (their only way out); absent: an egress agent's internal
   * network leads nowhere. The provisioner admits each egress agent after its start and forgets it
   * when it stops, so the proxy knows the agent by its address, never by what it sends.
   */
  egress?: EgressProxy;
}

/**
 * The job handlers of the agent runtime. `agent.converge` brings the agent's container to the
 * desired state the database holds now (so a job that runs twice, late, or after a crash is
 * harmless); `agent.remove` removes a deleted agent's container, workspace and channel. Every read
 * and write goes through the job's tenant-bound EntityManager, under RLS.
 */
export class Provisioner {
  readonly #deps: ProvisionerDeps;
  readonly #log: Logger;

  constructor(deps: ProvisionerDeps) {
    this.#deps = deps;
    this.#log = deps.log.child({ component: 'provisioner' });
  }

  handle = async (job: Job, em: () => EntityManager): Promise<void> => {
    try {
      if (job.kind === 'agent.remove') await this.#remove(job.agentId);
      else await this.#converge(job, em);
      this.#deps.metrics.provisioning.inc({ kind: job.kind, outcome: 'ok' });
    } catch (error) {
      this.#deps.metrics.provisioning.inc({ kind: job.kind, outcome: 'retry' });
      if (error instanceof EngineUnavailableError) {
        await setStatus(em(), job.agentId, {}, 'container engine unreachable; retrying');
      }
      if (error instanceof KeyProviderUnavailableError) {
        await setStatus(em(), job.agentId, {}, 'key provider unavailable; retrying');
      }
      if (error instanceof CredentialUnreadableError) {
        this.#log.warn(
          { tenantId: job.tenantId, agentId: job.agentId, credential: error.credentialName },
          'credential cannot be decrypted',
        );
        await setStatus(em(), job.agentId, {}, credentialReason(error));
      }
      throw error;
    }
  };

  /** After the last attempt: the agent is FAILED with the reason, visible to its tenant. */
  giveUp = async (job: Job, em: () => EntityManager, error: unknown): Promise<void> => {
    this.#deps.metrics.provisioning.inc({ kind: job.kind, outcome: 'failed' });
    if (job.kind !== 'agent.converge') return;
    const reason =
      error instanceof EngineUnavailableError
        ? 'container engine unreachable'
        : error instanceof KeyProviderUnavailableError
          ? 'key provider unavailable'
          : error instanceof CredentialUnreadableError
            ? credentialReason(error)
            : error instanceof SandboxUnavailableError
              ? error.message
              : 'provisioning failed';
    await setStatus(em(), job.agentId, { status: 'FAILED' }, reason);
  };

  async #converge(job: Job, em: () => EntityManager): Promise<void> {
    const { runtime, channels, allowList } = this.#deps;
    const agent = await loadAgent(em(), job.agentId);
    if (!agent) return this.#remove(job.agentId); // deleted meanwhile
    const log = this.#log.child({ tenantId: agent.tenant_id, agentId: agent.id, jobId: job.id });

    // A frozen tenant's agents stop without changing what the tenant asked for: unfreezing converges them back.
    const frozen = await tenantIsFrozen(em(), agent.tenant_id);
    if (agent.desired_state === 'STOPPED' || frozen) {
      // The stopped container's agent token dies now, on every replica (a deleted agent's died with its row).
      await revokeAgentTokens(em(), agent.id);
      this.#deps.egress?.forget(agent.id);
      await runtime.stop(agent.id);
      channels.close(agent.id);
      const state = await runtime.inspect(agent.id);
      const expectDesired = frozen ? agent.desired_state : 'STOPPED';
      await setStatus(
        em(),
        agent.id,
        { status: 'STOPPED', exitCode: state?.exitCode ?? null, expectDesired },
        frozen ? 'tenant frozen' : null,
      );
      return;
    }

    // A restart recreates the container (keeping the workspace), so a changed image, command or limit applies.
    if (job.payload.restart === true) {
      this.#deps.egress?.forget(agent.id);
      channels.close(agent.id);
      await runtime.remove(agent.id, { keepWorkspace: true });
    }
    const image = allowList.resolve(agent.image);
    await runtime.ensureImage(image, image === this.#deps.reference.tag ? this.#deps.reference.build : undefined);
    const sandbox = await this.#sandboxFor(em, agent);
    if (!sandbox) return;
    let state = await runtime.inspect(agent.id);
    if (state && (state.egress !== agent.egress || state.sandbox !== sandbox)) {
      // Egress or level changed while the agent was stopped: never start the old container as it was.
      this.#deps.egress?.forget(agent.id);
      channels.close(agent.id);
      await runtime.remove(agent.id, { keepWorkspace: true });
      state = null;
    }
    if (!state?.running) {
      // Decrypted before anything starts: without its secrets (key provider down) the agent does not start.
      const secrets = await this.#startSecrets(em, agent);
      // Fresh FIFOs before the process opens them (the bind mount needs the directory to exist at create).
      await channels.reset(agent.tenant_id, agent.id);
      if (!state) {
        await runtime.create({
          tenantId: agent.tenant_id,
          agentId: agent.id,
          image,
          command: agent.command,
          memoryMb: agent.memory_mb,
          cpuMillis: agent.cpu_millis,
          channelDir: channels.dirOf(agent.id),
          egress: agent.egress,
          ...(this.#deps.egress ? { egressProxyPort: this.#deps.egress.port } : {}),
          sandbox,
          workspaceMb: agent.tenant_workspace_mb,
        });
        // The size its file system was made with (an existing workspace keeps its first size).
        await em().transactional((tx) => recordWorkspaceSize(tx, agent.id, agent.tenant_workspace_mb));
      }
      this.#deps.egress?.forget(agent.id);
      // Entries of containers gone from the tenant network go before the engine hands out an address again.
      if (agent.egress && this.#deps.egress) this.#deps.egress.retain(agent.tenant_id, await runtime.tenantEndpoints(agent.tenant_id));
      await this.#startWithSecrets(agent.id, secrets);
      state = await runtime.inspect(agent.id);
      if (state?.running) await this.#admitEgress(agent, state, secrets);
    } else {
      channels.open(agent.tenant_id, agent.id);
      // Running already (this replica restarted, or the allow-list changed): the proxy learns it again.
      if (agent.egress && this.#deps.egress) await this.#admitEgress(agent, state, await this.#startSecrets(em, agent));
    }
    if (state && !state.running && state.exitCode !== null) {
      // It started and exited at once: a crash like any other, restarted with backoff up to the cap.
      channels.close(agent.id);
      const exit = { tenantId: agent.tenant_id, agentId: agent.id, reason: exitReason(state), exitCode: state.exitCode };
      const outcome = await handleExit(em(), exit, this.#deps.restartPolicy ?? 'restart', this.#deps.crashLoop ?? DEFAULT_CRASH_LOOP);
      log.warn({ exitCode: state.exitCode, outcome }, 'container exited right after its start');
      return;
    }
    if (!state?.running) throw new Error(`container did not stay up (${state?.state ?? 'missing'}, exit ${state?.exitCode ?? '?'})`);
    await setStatus(
      em(),
      agent.id,
      {
        status: 'RUNNING',
        containerId: state.id,
        runtimeImage: image,
        sandboxRuntime: state.sandbox,
        startedAt: state.startedAt,
        exitCode: null,
        expectDesired: 'RUNNING',
      },
      null,
    );
    log.info({ containerId: state.id }, 'agent running');
  }

  /**
   * The level the agent runs under. Asked for (by the agent or its tenant's plan) and missing on the
   * engine: the agent is FAILED with the reason and nothing starts; it is never run under a weaker
   * level instead. Not asked for: see defaultSandbox; `Agent.sandbox.runtime` says which one it got.
   */
  async #sandboxFor(em: () => EntityManager, agent: AgentRow): Promise<SandboxLevel | null> {
    const offered = await this.#deps.runtime.sandboxLevels();
    if (agent.sandbox === null) return defaultSandbox(offered, agent);
    let refusal: string | null = null;
    if (agent.sandbox === 'GVISOR' && agent.egress) refusal = 'sandbox GVISOR cannot run agents with egress (no network under gVisor here)';
    else if (!offered.includes(agent.sandbox)) refusal = `sandbox ${agent.sandbox} is required but the container engine does not offer it`;
    if (!refusal) return agent.sandbox;
    this.#log.warn(
      { tenantId: agent.tenant_id, agentId: agent.id, sandbox: agent.sandbox, offered },
      'sandbox level unavailable; not starting',
    );
    this.#deps.metrics.provisioning.inc({ kind: 'agent.converge', outcome: 'sandbox_unavailable' });
    await setStatus(em(), agent.id, { status: 'FAILED', expectDesired: 'RUNNING' }, refusal);
    return null;
  }

  /**
   * Lets the running egress agent through the proxy from its address on its tenant network, with its
   * allow-list and its swapped credentials' values (which exist only in the proxy's memory).
   */
  async #admitEgress(agent: AgentRow, state: ContainerState, secrets: readonly StartSecret[]): Promise<void> {
    const proxy = this.#deps.egress;
    if (!proxy || !agent.egress) return;
    if (!state.network) throw new Error('egress agent running without an address on its tenant network');
    await proxy.admit(
      { containerId: state.id, address: state.network.address, gateway: state.network.gateway },
      {
        tenantId: agent.tenant_id,
        agentId: agent.id,
        rules: agent.egress_rules.map(parseEgressRule),
        bindings: secrets.flatMap(({ value, swap }) => (swap ? [{ placeholder: swap.placeholder, value, hosts: swap.hosts }] : [])),
      },
    );
  }

  async #startSecrets(em: () => EntityManager, agent: AgentRow): Promise<StartSecret[]> {
    const secrets: StartSecret[] = [];
    for (const source of this.#deps.startSecrets ?? [])
      secrets.push(...(await source(em(), { tenantId: agent.tenant_id, agentId: agent.id })));
    return secrets;
  }

  /**
   * Starts the container with its start secrets offered on its channel (AgentChannels.deliverStart),
   * then waits for the entrypoint to take them; the payload is zeroed once written or abandoned.
   */
  async #startWithSecrets(agentId: string, secrets: readonly StartSecret[]): Promise<void> {
    // A swapped credential's value never enters the container: its process gets the placeholder.
    const payload = encodeStartPayload(
      secrets.map(({ name, value, swap }) => ({ name, value: swap ? new Secret(swap.placeholder) : value })),
    );
    const delivery = this.#deps.channels.deliverStart(agentId, payload);
    try {
      await this.#deps.runtime.start(agentId);
      const delivered = await delivery;
      if (!delivered && secrets.length > 0)
        this.#log.warn({ agentId, secretCount: secrets.length }, 'start secrets not taken by the agent');
    } catch (error) {
      this.#deps.channels.close(agentId); // withdraws the offer
      throw error;
    } finally {
      payload.fill(0);
    }
  }

  async #remove(agentId: string): Promise<void> {
    this.#deps.egress?.forget(agentId);
    await this.#deps.runtime.remove(agentId);
    await this.#deps.channels.destroy(agentId);
  }
}

/**
 * The level of an agent that asks for none: the strongest that can run it. GVISOR where the engine
 * offers it, except for an egress agent (gVisor has no network here) and an agent with less memory
 * than HARDENING.gvisorMinMemoryMb (gVisor's own kernel takes 15-20 MB of the agent's limit: a 16 MB
 * agent would be OOM-killed as a whole). Those run under RUNC.
 */
export function defaultSandbox(offered: readonly SandboxLevel[], agent: Pick<AgentRow, 'egress' | 'memory_mb'>): SandboxLevel {
  if (!offered.includes('GVISOR') || agent.egress || agent.memory_mb < HARDENING.gvisorMinMemoryMb) return 'RUNC';
  return 'GVISOR';
}

export async function loadAgent(em: EntityManager, agentId: string): Promise<AgentRow | null> {
  return (await em.transactional((tx) => agentToProvision(tx, agentId))) ?? null;
}

async function tenantIsFrozen(em: EntityManager, tenantId: string): Promise<boolean> {
  const status = await em.transactional((tx) => tenantStatus(tx, tenantId));
  // Not visible under the job's own tenant setting would be a broken invariant: refuse to start anything.
  return status !== 'ACTIVE';
}

/**
 * Queues a converge for every agent of the tenant that should be running, so a freeze stops them and
 * an unfreeze brings them back. Runs in the caller's transaction, under that tenant's RLS setting.
 */
export async function convergeTenantAgents(em: EntityManager, tenantId: string): Promise<number> {
  const agents = await runningAgentIds(em);
  for (const agentId of agents) await enqueueJob(em, { tenantId, kind: 'agent.converge', agentId });
  return agents.length;
}

/** Which credential keeps the agent from starting, and why; never its value. */
function credentialReason(error: CredentialUnreadableError): string {
  return `${error.message}: set it again to start the agent`;
}

/** Records what the engine said; `reason` null clears the previous reason. */
export async function setStatus(em: EntityManager, agentId: string, change: StatusChange, reason: string | null): Promise<void> {
  await em.transactional((tx) => updateAgentStatus(tx, agentId, change, reason));
}
