import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AgentChannels } from './agent-channel.ts';
import type { ContainerRuntime } from './container-runtime.ts';
import { type CrashLoopPolicy, DEFAULT_CRASH_LOOP, exitReason, handleExit, type RestartPolicy } from './crash-loop.ts';
import { loadAgent } from './provisioner.service.ts';
import { jobPending, runtimeAgents, tenantHasEgressAgents } from './provisioning.store.ts';

export type { RestartPolicy } from './crash-loop.ts';

export interface ReconcilerOptions {
  orm: MikroORM;
  runtime: ContainerRuntime;
  channels: AgentChannels;
  log: Logger;
  /** What to do with an agent whose container exited or vanished: provision it again, or mark it FAILED. */
  restartPolicy: RestartPolicy;
  /** Under `restart`: backoff and the cap on restarts per window (default DEFAULT_CRASH_LOOP). */
  crashLoop?: CrashLoopPolicy;
}

export interface ReconcileReport {
  removedOrphans: string[];
  restarted: string[];
  failed: string[];
  /** Tenants whose network went because none of their agents has egress any more. */
  removedNetworks: string[];
}

/**
 * Compares the database with the engine, by label, at start and periodically:
 * - a container of this instance whose agent does not exist (read under the container's tenant
 *   label, with RLS) is removed with its workspace;
 * - a running container of a live agent gets its channel reattached (after a gateway restart);
 * - an agent that should run but whose container exited or vanished is marked FAILED with the
 *   reason and, under the `restart` policy, queued for provisioning again after a backoff, until
 *   it has crashed too often in a window (see crash-loop.ts);
 * - a tenant network whose tenant has no egress agent left is removed.
 * It never decides on its own what an agent should be: that is the database's desired state.
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<ReconcileReport> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'reconciler' });
  }

  start(intervalMs: number): void {
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.reconcile().catch(() => undefined), intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One pass; concurrent callers share the pass in progress. */
  reconcile(): Promise<ReconcileReport> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<ReconcileReport> {
    const { orm, runtime, channels } = this.#options;
    const report: ReconcileReport = { removedOrphans: [], restarted: [], failed: [], removedNetworks: [] };
    try {
      const containers = await runtime.list();
      const seen = new Set<string>();
      for (const container of containers) {
        seen.add(container.agentId);
        const agent = container.tenantId ? await loadAgent(forkForTenant(orm, container.tenantId), container.agentId) : null;
        if (!agent) {
          this.#log.warn(
            { containerId: container.id, agentId: container.agentId, tenantId: container.tenantId },
            'removing orphan container',
          );
          await runtime.remove(container.agentId);
          await channels.destroy(container.agentId);
          report.removedOrphans.push(container.agentId);
          continue;
        }
        if (agent.desired_state !== 'RUNNING') continue;
        if (container.running) {
          channels.open(agent.tenant_id, agent.id);
          continue;
        }
        if (await this.#pending(agent.tenant_id, agent.id)) continue;
        const state = await runtime.inspect(agent.id);
        await this.#recover(agent.tenant_id, agent.id, exitReason(state), state?.exitCode ?? null, report);
      }
      const rows = await runtimeAgents(orm.em.fork());
      for (const row of rows) {
        if (seen.has(row.agent_id) || (await this.#pending(row.agent_tenant_id, row.agent_id))) continue;
        await this.#recover(row.agent_tenant_id, row.agent_id, exitReason(null), null, report);
      }
      await this.#removeUnusedNetworks(report);
    } catch (error) {
      this.#log.warn({ err: error }, 'reconcile pass failed');
      throw error;
    }
    if (report.removedOrphans.length + report.restarted.length + report.failed.length + report.removedNetworks.length > 0)
      this.#log.info(report, 'reconciled');
    return report;
  }

  async #recover(tenantId: string, agentId: string, reason: string, exitCode: number | null, report: ReconcileReport): Promise<void> {
    const em = forkForTenant(this.#options.orm, tenantId);
    this.#options.channels.close(agentId);
    const exit = { tenantId, agentId, reason, exitCode };
    const outcome = await handleExit(em, exit, this.#options.restartPolicy, this.#options.crashLoop ?? DEFAULT_CRASH_LOOP);
    if (outcome === 'restarting') report.restarted.push(agentId);
    else if (outcome === 'failed') report.failed.push(agentId);
  }

  /** Read under each network's tenant label, with RLS: a tenant with no egress agent keeps no network. */
  async #removeUnusedNetworks(report: ReconcileReport): Promise<void> {
    for (const network of await this.#options.runtime.listNetworks()) {
      if (!network.tenantId) continue;
      if (await forkForTenant(this.#options.orm, network.tenantId).transactional(tenantHasEgressAgents)) continue;
      if (await this.#options.runtime.removeNetwork(network.tenantId)) report.removedNetworks.push(network.tenantId);
      else this.#log.info({ tenantId: network.tenantId, network: network.name }, 'tenant network still has containers; next pass');
    }
  }

  /** A job for the agent is queued or running: provisioning is under way, leave it alone. */
  async #pending(tenantId: string, agentId: string): Promise<boolean> {
    return forkForTenant(this.#options.orm, tenantId).transactional((tx) => jobPending(tx, agentId));
  }
}
