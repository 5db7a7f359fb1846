import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow, selectRows } from '../../db/rows.ts';
import { newId } from '../../shared/ids.ts';
import { SANDBOX_LEVELS, type SandboxLevel } from './container-runtime.ts';

/**
 * The provisioning module's raw SQL: the job queue (`jobs`, `claim_job`), the agent rows the
 * provisioner, the crash loop and the reconciler read and write (`agents`, `runtime_agents`), and the
 * tenant's status. Each statement runs in the transaction it is handed, under the RLS setting its
 * caller chose (the job's tenant, or none for the two SECURITY DEFINER functions). None of it is on a
 * request's path: jobs, exits and reconcile passes run in the background.
 */

export type JobKind = 'agent.converge' | 'agent.remove';
const JOB_KINDS = ['agent.converge', 'agent.remove'] as const satisfies readonly JobKind[];

/** Stages a job in the caller's transaction (see enqueueJob); its id. */
export async function insertJob(
  em: EntityManager,
  job: { tenantId: string; kind: JobKind; agentId: string; payload?: Record<string, unknown>; delayMs?: number },
): Promise<string> {
  const id = newId();
  await em.execute(
    'insert into jobs (id, tenant_id, kind, agent_id, payload, run_at) values (?, ?, ?, ?, ?, now() + make_interval(secs => ?))',
    [id, job.tenantId, job.kind, job.agentId, JSON.stringify(job.payload ?? {}), (job.delayMs ?? 0) / 1000],
  );
  return id;
}

const claimRow = z.object({ job_id: z.string(), job_tenant_id: z.string() });

/** claim_job: leases the next due job to the worker (across tenants, SECURITY DEFINER); undefined when none is due. */
export function claimJob(em: EntityManager, workerId: string, leaseSeconds: number): Promise<z.output<typeof claimRow> | undefined> {
  return selectRow(em, claimRow, 'select * from claim_job(?, ?)', [workerId, leaseSeconds]);
}

const jobRow = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    kind: z.enum(JOB_KINDS),
    agent_id: z.string(),
    payload: z.record(z.string(), z.unknown()).nullable(),
    attempts: z.number(),
    max_attempts: z.number(),
  })
  .transform((row) => ({
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    agentId: row.agent_id,
    payload: row.payload ?? {},
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
  }));
export type Job = z.output<typeof jobRow>;

/** The job the worker holds the lease of (run under the job's tenant); undefined once another worker reclaimed it. */
export function claimedJob(em: EntityManager, jobId: string, workerId: string): Promise<Job | undefined> {
  return selectRow(
    em,
    jobRow,
    'select id, tenant_id, kind, agent_id, payload, attempts, max_attempts from jobs where id = ? and locked_by = ?',
    [jobId, workerId],
  );
}

export async function markJobDone(em: EntityManager, jobId: string): Promise<void> {
  await em.execute("update jobs set status = 'DONE', locked_until = null, updated_at = now() where id = ?", [jobId]);
}

/** The job failed for good; `message` is already cut to the column's 1000 characters. */
export async function markJobFailed(em: EntityManager, jobId: string, message: string): Promise<void> {
  await em.execute("update jobs set status = 'FAILED', last_error = ?, locked_until = null, updated_at = now() where id = ?", [
    message,
    jobId,
  ]);
}

/** The job goes back to the queue, due after `delayMs`, its lease released. */
export async function requeueJob(em: EntityManager, jobId: string, message: string, delayMs: number): Promise<void> {
  await em.execute(
    `update jobs set status = 'QUEUED', last_error = ?, locked_by = null, locked_until = null,
       run_at = now() + make_interval(secs => ?), updated_at = now() where id = ?`,
    [message, delayMs / 1000, jobId],
  );
}

const pendingRow = z.object({ pending: z.literal(1) });

/** A job for the agent is queued or running (run under its tenant). */
export async function jobPending(em: EntityManager, agentId: string): Promise<boolean> {
  const rows = await selectRows(
    em,
    pendingRow,
    "select 1 as pending from jobs where agent_id = ? and status in ('QUEUED', 'RUNNING') limit 1",
    [agentId],
  );
  return rows.length > 0;
}

const agentRow = z.object({
  id: z.string(),
  tenant_id: z.string(),
  image: z.string(),
  command: z.array(z.string()).nullable(),
  memory_mb: z.number(),
  cpu_millis: z.number(),
  desired_state: z.enum(['RUNNING', 'STOPPED']),
  status: z.string(),
  egress: z.boolean(),
  /** The egress proxy's allow-list (`host:port` rules, validated when written). */
  egress_rules: z.array(z.string()),
  /** The agent's own level, else its tenant's (per plan); null: the engine's best. */
  sandbox: z.enum(SANDBOX_LEVELS).nullable(),
  /** The tenant's workspace size, MB. */
  tenant_workspace_mb: z.number(),
});
/** What the provisioner needs of an agent and its tenant to converge it. */
export type AgentRow = z.output<typeof agentRow>;

/** The agent with its tenant's sandbox level and workspace size; undefined when not visible (deleted, or another tenant's). */
export function agentToProvision(em: EntityManager, agentId: string): Promise<AgentRow | undefined> {
  return selectRow(
    em,
    agentRow,
    `select a.id, a.tenant_id, a.image, a.command, a.memory_mb, a.cpu_millis, a.desired_state, a.status, a.egress, a.egress_rules,
            case when t.sandbox = 'GVISOR' then 'GVISOR' else coalesce(a.sandbox, t.sandbox) end as sandbox, t.workspace_mb as tenant_workspace_mb
       from agents a join tenants t on t.id = a.tenant_id where a.id = ?`,
    [agentId],
  );
}

const statusRow = z.object({ status: z.string() });

/** The tenant's status; undefined when not visible under the caller's setting. */
export async function tenantStatus(em: EntityManager, tenantId: string): Promise<string | undefined> {
  return (await selectRow(em, statusRow, 'select status from tenants where id = ?', [tenantId]))?.status;
}

const idRow = z.object({ id: z.string() });

/** The ids of the agents (of the caller's tenant, by RLS) that should be running. */
export async function runningAgentIds(em: EntityManager): Promise<string[]> {
  const rows = await selectRows(em, idRow, "select id from agents where desired_state = 'RUNNING'");
  return rows.map((row) => row.id);
}

const runtimeAgentRow = z.object({ agent_id: z.string(), agent_tenant_id: z.string() });

/** runtime_agents: every agent that should have a container, across tenants (SECURITY DEFINER). */
export function runtimeAgents(em: EntityManager): Promise<z.output<typeof runtimeAgentRow>[]> {
  return selectRows(em, runtimeAgentRow, 'select * from runtime_agents()');
}

const usesRow = z.object({ uses: z.literal(1) });

/** Some agent of the caller's tenant (by RLS) has egress, so its network is in use. */
export async function tenantHasEgressAgents(em: EntityManager): Promise<boolean> {
  return (await selectRows(em, usesRow, 'select 1 as uses from agents where egress limit 1')).length > 0;
}

/** The size the agent's workspace file system was made with (an existing workspace keeps its first size). */
export async function recordWorkspaceSize(em: EntityManager, agentId: string, workspaceMb: number): Promise<void> {
  await em.execute('update agents set workspace_mb = coalesce(workspace_mb, ?) where id = ?', [workspaceMb, agentId]);
}

export interface StatusChange {
  status?: string;
  containerId?: string | null;
  runtimeImage?: string;
  sandboxRuntime?: SandboxLevel;
  startedAt?: Date | null;
  exitCode?: number | null;
  /** Write only if the tenant has not changed its mind meanwhile (a later job will converge again). */
  expectDesired?: 'RUNNING' | 'STOPPED';
}

const STATUS_COLUMNS: [Exclude<keyof StatusChange, 'expectDesired'>, string][] = [
  ['status', 'status'],
  ['containerId', 'container_id'],
  ['runtimeImage', 'runtime_image'],
  ['sandboxRuntime', 'sandbox_runtime'],
  ['startedAt', 'started_at'],
  ['exitCode', 'exit_code'],
];

/** Writes what the engine said about the agent (the columns `change` names) and its reason; null clears it. */
export async function updateAgentStatus(em: EntityManager, agentId: string, change: StatusChange, reason: string | null): Promise<void> {
  const sets: string[] = ['status_reason = ?', 'updated_at = now()'];
  const params: unknown[] = [reason];
  for (const [key, column] of STATUS_COLUMNS) {
    if (key in change) {
      sets.push(`${column} = ?`);
      params.push(change[key] ?? null);
    }
  }
  let where = 'id = ?';
  params.push(agentId);
  if (change.expectDesired) {
    where += ' and desired_state = ?';
    params.push(change.expectDesired);
  }
  await em.execute(`update agents set ${sets.join(', ')} where ${where}`, params);
}

const markedRow = z.object({ id: z.string() });

/** Under the `fail` policy: FAILED with the exit's reason, unless already FAILED or no longer meant to run; whether it was marked. */
export async function failRunningAgent(em: EntityManager, agentId: string, reason: string, exitCode: number | null): Promise<boolean> {
  const marked = await selectRows(
    em,
    markedRow,
    `update agents set status = 'FAILED', status_reason = ?, exit_code = ?, updated_at = now()
      where id = ? and desired_state = 'RUNNING' and status <> 'FAILED' returning id`,
    [reason, exitCode, agentId],
  );
  return marked.length > 0;
}

const crashCountRow = z.object({ crash_count: z.number() });

/**
 * Counts the exit in the agent's crash window (a window older than `windowSeconds` starts again at 1);
 * the count, or undefined for an agent no longer meant to run or already given up on.
 */
export async function countCrash(
  em: EntityManager,
  agentId: string,
  windowSeconds: number,
  maxRestarts: number,
): Promise<number | undefined> {
  const row = await selectRow(
    em,
    crashCountRow,
    `update agents
        set crash_count = case when crash_window_started_at > now() - make_interval(secs => ?) then crash_count + 1 else 1 end,
            crash_window_started_at = case when crash_window_started_at > now() - make_interval(secs => ?)
                                             then crash_window_started_at else now() end,
            updated_at = now()
      where id = ? and desired_state = 'RUNNING' and not (status = 'FAILED' and crash_count > ?)
      returning crash_count`,
    [windowSeconds, windowSeconds, agentId, maxRestarts],
  );
  return row?.crash_count;
}

/** FAILED with the crash loop's reason (cut to the column's 500 characters by the caller). */
export async function markCrashed(em: EntityManager, agentId: string, reason: string, exitCode: number | null): Promise<void> {
  await em.execute("update agents set status = 'FAILED', status_reason = ?, exit_code = ? where id = ?", [reason, exitCode, agentId]);
}
