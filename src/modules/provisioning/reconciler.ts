import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AgentChannels } from './agent-channel.ts';
import type { ContainerRuntime } from './container-runtime.ts';
import { enqueueJob } from './job-queue.ts';
import { loadAgent, setStatus } from './provisioner.service.ts';

export type RestartPolicy = 'restart' | 'fail';

export interface ReconcilerOptions {
  orm: MikroORM;
  runtime: ContainerRuntime;
  channels: AgentChannels;
  log: Logger;
  /** What to do with an agent whose container exited or vanished: provision it again, or mark it FAILED. */
  restartPolicy: RestartPolicy;
}

export interface ReconcileReport {
  removedOrphans: string[];
  restarted: string[];
  failed: string[];
}

/**
 * Compares the database with the engine, by label, at start and periodically:
 * - a container of this instance whose agent does not exist (read under the container's tenant
 *   label, with RLS) is removed with its workspace;
 * - a running container of a live agent gets its channel reattached (after a gateway restart);
 * - an agent that should run but whose container exited or vanished is marked FAILED with the
 *   reason and, under the `restart` policy, queued for provisioning again.
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
    const report: ReconcileReport = { removedOrphans: [], restarted: [], failed: [] };
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
        const reason = state?.oomKilled ? 'container was killed: out of memory' : `container exited with code ${state?.exitCode ?? '?'}`;
        await this.#recover(agent.tenant_id, agent.id, reason, state?.exitCode ?? null, report);
      }
      const rows = await orm.em.fork().execute<{ agent_id: string; agent_tenant_id: string }[]>('select * from runtime_agents()');
      for (const row of rows) {
        if (seen.has(row.agent_id) || (await this.#pending(row.agent_tenant_id, row.agent_id))) continue;
        await this.#recover(row.agent_tenant_id, row.agent_id, 'container vanished', null, report);
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'reconcile pass failed');
      throw error;
    }
    if (report.removedOrphans.length + report.restarted.length + report.failed.length > 0) this.#log.info(report, 'reconciled');
    return report;
  }

  async #recover(tenantId: string, agentId: string, reason: string, exitCode: number | null, report: ReconcileReport): Promise<void> {
    const em = forkForTenant(this.#options.orm, tenantId);
    this.#options.channels.close(agentId);
    await setStatus(em, agentId, { status: 'FAILED', exitCode, expectDesired: 'RUNNING' }, reason);
    if (this.#options.restartPolicy === 'restart') {
      await em.transactional((tx) => enqueueJob(tx, { tenantId, kind: 'agent.converge', agentId, payload: { reason } }));
      report.restarted.push(agentId);
    } else {
      report.failed.push(agentId);
    }
  }

  /** A job for the agent is queued or running: provisioning is under way, leave it alone. */
  async #pending(tenantId: string, agentId: string): Promise<boolean> {
    const rows = await forkForTenant(this.#options.orm, tenantId).transactional((tx) =>
      tx.execute("select 1 from jobs where agent_id = ? and status in ('QUEUED', 'RUNNING') limit 1", [agentId]),
    );
    return rows.length > 0;
  }
}
