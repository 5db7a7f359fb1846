import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { actorOf } from '../../auth/principal.ts';
import { isUniqueViolation } from '../../db/database-faults.ts';
import type { LeanTransaction } from '../../db/lean-transaction.ts';
import { leanUpdateRow } from '../../db/lean-update.ts';
import { findPageRows, leanPageRows, type PageArgs } from '../../db/pagination.ts';
import type { Region } from '../../db/regions.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, clientError, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { type AuditRecord, recordAudit, recordAuditWithCommit } from '../audit/audit.service.ts';
import { parseEgressRule } from '../egress/index.ts';
import { EngineUnavailableError, SANDBOX_LEVELS, type SandboxLevel } from '../provisioning/container-runtime.ts';
import { enqueueJob, type JobKind } from '../provisioning/job-queue.ts';
import type { AgentRuntimeAccess } from '../provisioning/runtime-access.ts';
import { Agent, type AgentRecord } from './agent.entity.ts';
import { lockTenantQuota, tenantQuota, tenantSandbox, tenantUsage } from './agent.store.ts';

/** Agent services also need the operator's allow-list and, for logs, the engine. */
export type AgentScope = RequestScope & { agentRuntime: AgentRuntimeAccess };

/** Upper bound of an agent's config, serialised. */
export const MAX_CONFIG_BYTES = 64 * 1024;
const agentFields = {
  name: z.string().trim().min(1).max(100),
  description: z.string().max(2000),
  image: z
    .string()
    .max(200)
    .regex(/^[a-z0-9][a-z0-9._\-/]*(:[\w.-]{1,128})?$/, 'must be an image reference such as fleetgate/agent:1'),
  config: z.record(z.string(), z.unknown()).refine((value) => Buffer.byteLength(JSON.stringify(value)) <= MAX_CONFIG_BYTES, {
    message: `must be at most ${MAX_CONFIG_BYTES} bytes`,
  }),
  command: z.array(z.string().max(1000)).min(1).max(32).nullable(),
  memoryMb: z.number().int().min(16).max(1024),
  cpuMillis: z.number().int().min(10).max(2000),
  egress: z.boolean(),
  egressRules: z.array(z.string().max(300)).max(64),
  sandbox: z.enum(SANDBOX_LEVELS).nullable(),
};
const createAgentInput = z.object({
  ...agentFields,
  description: agentFields.description.default(''),
  config: agentFields.config.default({}),
  command: agentFields.command.default(null),
  memoryMb: agentFields.memoryMb.default(64),
  cpuMillis: agentFields.cpuMillis.default(250),
  egress: agentFields.egress.default(false),
  egressRules: agentFields.egressRules.default([]),
  sandbox: agentFields.sandbox.default(null),
});
const updateAgentInput = z.object(agentFields).partial();

/**
 * A read-only page: plain rows, not managed entities (the hot path of `agents(first:)`), with the
 * `properties` the caller reads (all when omitted). In a lean read (a user's query of nothing else)
 * it is one round trip with the request's settings and liveness check; else a statement of the
 * request's ORM transaction. The same SQL either way, the ORM filter's conditions in it.
 */
export function listAgents(scope: RequestScope, page: PageArgs, properties?: readonly string[]): Promise<AgentRecord[]> {
  assertCan(scope.principal, 'agent.read');
  if (scope.lean) return leanPageRows(scope.em, scope.lean, Agent, {}, page, properties);
  return findPageRows(scope.em, Agent, {}, page, properties);
}

export async function loadAgents(scope: RequestScope, ids: string[]): Promise<(Agent | null)[]> {
  assertCan(scope.principal, 'agent.read');
  const valid = ids.filter((id) => isUuid(id));
  const found = valid.length > 0 ? await scope.em.find(Agent, { id: { $in: valid } }) : [];
  return ids.map((id) => found.find((agent) => agent.id === id) ?? null);
}

/** Another tenant's agent and a missing one give the same NOT_FOUND. */
export async function getAgent(scope: RequestScope, id: string): Promise<Agent> {
  const [agent] = await loadAgents(scope, [id]);
  if (!agent) throw notFound('Agent', id);
  return agent;
}

/**
 * The allow-list in its stored form (`host:port`, lower case, no duplicates), or BAD_USER_INPUT naming
 * the first rule that is not one (an IP address, a bad name or port).
 */
function egressRulesOf(rules: readonly string[]): string[] {
  const parsed = rules.map((text) => {
    try {
      const rule = parseEgressRule(text);
      return `${rule.host}:${rule.port}`;
    } catch (error) {
      throw badInput((error as Error).message, 'egressRules');
    }
  });
  return [...new Set(parsed)];
}

/**
 * Records the agent and queues its provisioning in the same transaction: the agent exists with its
 * job or not at all. The container is created by the job worker, never inside the request. Asking
 * for egress also needs `agent.egress` (owners and admins): a network is a way out for the agent's data.
 */
export async function createAgent(scope: AgentScope, input: unknown, options: { start?: boolean } = {}): Promise<Agent> {
  const start = options.start ?? true;
  assertCan(scope.principal, 'agent.write');
  const fields = parseInput(createAgentInput, input);
  if (fields.egress || fields.egressRules.length > 0) assertCan(scope.principal, 'agent.egress');
  fields.egressRules = egressRulesOf(fields.egressRules);
  scope.agentRuntime.allowList.check(fields.image, fields.command);
  const tenantId = tenantIdOf(scope);
  await assertSandboxAllowed(scope, fields.sandbox, fields.egress);
  await assertWithinQuota(scope, { agents: 1, memoryMb: fields.memoryMb, cpuMillis: fields.cpuMillis, newWorkspace: true });
  const agent = scope.em.create(Agent, {
    id: newId(),
    tenantId,
    ...fields,
    status: start ? 'PROVISIONING' : 'CREATED',
    desiredState: start ? 'RUNNING' : 'STOPPED',
    createdBy: creatorOf(scope),
  });
  recordAudit(scope, {
    action: 'agent.create',
    targetType: 'Agent',
    targetId: agent.id,
    detail: {
      name: agent.name,
      image: agent.image,
      memoryMb: agent.memoryMb,
      cpuMillis: agent.cpuMillis,
      egress: agent.egress,
      egressRules: agent.egressRules,
      sandbox: agent.sandbox ?? null,
    },
  });
  await flushMappingConflicts(scope);
  if (start) await enqueueJob(scope.em, { tenantId, kind: 'agent.converge', agentId: agent.id });
  return agent;
}

/**
 * Image, command and limits apply from the next restartAgent (which recreates the container). A
 * change of egress needs `agent.egress`, like creating with it, and recreates a running agent's
 * container at once: turning it off must not wait.
 */
export async function updateAgent(
  scope: AgentScope,
  id: string,
  input: unknown,
  /** The properties the caller reads of the answer, on the lean path (see updateAgentRow). */
  properties: readonly string[] = [],
): Promise<AgentRecord> {
  assertCan(scope.principal, 'agent.write');
  const changes = parseInput(updateAgentInput, input);
  if (scope.lean) return updateAgentRow(scope, scope.lean, id, changes, properties);
  if (changes.egress !== undefined || changes.egressRules !== undefined) assertCan(scope.principal, 'agent.egress');
  if (changes.egressRules !== undefined) changes.egressRules = egressRulesOf(changes.egressRules);
  const agent = await getAgent(scope, id);
  const egressChanged = changes.egress !== undefined && changes.egress !== agent.egress;
  const rulesChanged = changes.egressRules !== undefined && changes.egressRules.join() !== agent.egressRules.join();
  if (changes.image !== undefined || changes.command !== undefined) {
    scope.agentRuntime.allowList.check(changes.image ?? agent.image, changes.command === undefined ? agent.command : changes.command);
  }
  if (changes.sandbox !== undefined || egressChanged) {
    await assertSandboxAllowed(
      scope,
      changes.sandbox === undefined ? (agent.sandbox ?? null) : changes.sandbox,
      changes.egress ?? agent.egress,
    );
  }
  if (changes.memoryMb !== undefined || changes.cpuMillis !== undefined) {
    await assertWithinQuota(scope, {
      agents: 0,
      memoryMb: (changes.memoryMb ?? agent.memoryMb) - agent.memoryMb,
      cpuMillis: (changes.cpuMillis ?? agent.cpuMillis) - agent.cpuMillis,
    });
  }
  scope.em.assign(agent, changes);
  const recreate = egressChanged && agent.desiredState === 'RUNNING';
  if (recreate) agent.status = 'PROVISIONING';
  recordAudit(
    scope,
    updateRecord(agent.id, changes, {
      ...(egressChanged ? { egress: agent.egress } : {}),
      ...(rulesChanged ? { egressRules: agent.egressRules } : {}),
      ...(changes.sandbox !== undefined ? { sandbox: agent.sandbox ?? null } : {}),
    }),
  );
  await flushMappingConflicts(scope);
  if (recreate)
    await enqueueJob(scope.em, { tenantId: agent.tenantId, kind: 'agent.converge', agentId: agent.id, payload: { restart: true } });
  // A running egress agent's new allow-list reaches the proxy with the next converge (no restart needed).
  else if (rulesChanged && agent.egress && agent.desiredState === 'RUNNING')
    await enqueueJob(scope.em, { tenantId: agent.tenantId, kind: 'agent.converge', agentId: agent.id });
  return agent;
}

/** Fields an update changes on the lean path: they live in the agent's row alone (no quota, sandbox, allow-list or runtime effect). */
export const LEAN_UPDATE_FIELDS: ReadonlySet<string> = new Set(['name', 'description', 'config']);

/**
 * The lean write (issue 24): an update of LEAN_UPDATE_FIELDS only, chosen before execution
 * (agent.schema.ts), as one statement of the request's LeanTransaction (the row's update under the
 * ORM filter's conditions and RLS), its audit event sent with the COMMIT. Another tenant's id or a
 * deleted agent matches no row and answers NOT_FOUND, as `getAgent` does; a taken name fails the
 * statement, so nothing is kept: CONFLICT.
 */
async function updateAgentRow(
  scope: AgentScope,
  lean: LeanTransaction,
  id: string,
  changes: z.infer<typeof updateAgentInput>,
  properties: readonly string[],
): Promise<AgentRecord> {
  const fields = Object.keys(changes);
  if (fields.some((field) => !LEAN_UPDATE_FIELDS.has(field)))
    throw new Error(`updateAgent: ${fields.join(', ')} cannot take the lean path`);
  if (!isUuid(id)) throw notFound('Agent', id);
  let row: AgentRecord | undefined;
  try {
    row = await leanUpdateRow(scope.em, lean, Agent, id, changes, properties);
  } catch (error) {
    if (isUniqueViolation(error)) throw clientError('CONFLICT', 'An agent with this name already exists');
    throw error;
  }
  if (!row) throw notFound('Agent', id);
  recordAuditWithCommit(scope, lean, updateRecord(id, changes));
  return row;
}

function updateRecord(id: string, changes: object, extra: Record<string, unknown> = {}): AuditRecord {
  return { action: 'agent.update', targetType: 'Agent', targetId: id, detail: { fields: Object.keys(changes), ...extra } };
}

/** The record goes at once; its container, workspace and channel are removed by a durable job. */
export async function deleteAgent(scope: AgentScope, id: string): Promise<string> {
  assertCan(scope.principal, 'agent.write');
  const agent = await getAgent(scope, id);
  scope.em.remove(agent);
  recordAudit(scope, { action: 'agent.delete', targetType: 'Agent', targetId: agent.id, detail: { name: agent.name } });
  await scope.em.flush();
  await enqueueJob(scope.em, { tenantId: agent.tenantId, kind: 'agent.remove', agentId: agent.id });
  return agent.id;
}

type Transition = 'start' | 'stop' | 'restart';

/** start, stop and restart set the desired state and queue a job that converges the container to it. */
export async function transitionAgent(scope: AgentScope, id: string, transition: Transition): Promise<Agent> {
  assertCan(scope.principal, 'agent.write');
  const agent = await getAgent(scope, id);
  if (transition === 'stop') {
    agent.desiredState = 'STOPPED';
  } else {
    agent.desiredState = 'RUNNING';
    if (transition === 'restart' || agent.status !== 'RUNNING') agent.status = 'PROVISIONING';
    // The tenant asked again: a crash loop given up on gets a fresh count.
    agent.crashCount = 0;
    agent.crashWindowStartedAt = null;
  }
  agent.statusReason = null;
  recordAudit(scope, { action: `agent.${transition}`, targetType: 'Agent', targetId: agent.id });
  await scope.em.flush();
  const kind: JobKind = 'agent.converge';
  await enqueueJob(scope.em, {
    tenantId: agent.tenantId,
    kind,
    agentId: agent.id,
    payload: transition === 'restart' ? { restart: true } : {},
  });
  return agent;
}

/** The container's recent output; empty before it first ran. */
export async function agentLogs(scope: RequestScope & { region: Region }, agent: AgentRecord, tail: number): Promise<string> {
  assertCan(scope.principal, 'agent.read');
  const engine = scope.region.engine;
  if (!engine) return '';
  try {
    return await engine.logs(agent.id, Math.min(Math.max(tail, 1), 1000));
  } catch (error) {
    if (error instanceof EngineUnavailableError)
      throw clientError('SERVICE_UNAVAILABLE', 'The container engine is unreachable; try again shortly');
    throw error;
  }
}

/**
 * The sandbox level an agent may ask for: its tenant's plan level GVISOR is a floor (no RUNC agent,
 * and so no egress agent, since gVisor has no network here); GVISOR with egress is refused outright.
 * Whether the engine offers the level is the provisioner's check, at each start.
 */
async function assertSandboxAllowed(scope: AgentScope, sandbox: SandboxLevel | null, egress: boolean): Promise<void> {
  const tenant = await tenantSandbox(scope.em, tenantIdOf(scope));
  const level = tenant?.sandbox === 'GVISOR' ? 'GVISOR' : (sandbox ?? tenant?.sandbox ?? null);
  if (tenant?.sandbox === 'GVISOR' && sandbox === 'RUNC') {
    throw clientError('BAD_USER_INPUT', "This tenant's plan runs every agent in the GVISOR sandbox");
  }
  if (level === 'GVISOR' && egress) {
    throw clientError('BAD_USER_INPUT', 'The GVISOR sandbox has no network: an agent with egress runs in the RUNC sandbox');
  }
}

/**
 * Per-tenant quotas (columns of tenants, set by operators): number of agents, the sum of their
 * memory and CPU, and of their workspace disk (a new agent's workspace will be the tenant's
 * workspace_mb; a made one counts the size it was made with). Checked in the create's transaction,
 * before any job or container exists. Serialised per tenant with a transaction-scoped advisory lock,
 * so two concurrent creates cannot both take the last slot.
 */
async function assertWithinQuota(
  scope: AgentScope,
  delta: { agents: number; memoryMb: number; cpuMillis: number; newWorkspace?: boolean },
): Promise<void> {
  const tenantId = tenantIdOf(scope);
  await lockTenantQuota(scope.em, tenantId);
  const usage = await tenantUsage(scope.em);
  const quota = await tenantQuota(scope.em, tenantId);
  if (!usage || !quota) throw new Error('quota unreadable');
  const diskMb = delta.newWorkspace ? quota.workspace_mb : 0;
  const exceeded = [
    delta.agents > 0 && usage.agents + delta.agents > quota.max_agents && `at most ${quota.max_agents} agents`,
    delta.memoryMb > 0 &&
      usage.memory_mb + delta.memoryMb > quota.max_memory_mb &&
      `at most ${quota.max_memory_mb} MB of agent memory in total`,
    delta.cpuMillis > 0 &&
      usage.cpu_millis + delta.cpuMillis > quota.max_cpu_millis &&
      `at most ${quota.max_cpu_millis} millicpus in total`,
    diskMb > 0 && usage.disk_mb + diskMb > quota.max_disk_mb && `at most ${quota.max_disk_mb} MB of workspace disk in total`,
  ].filter(Boolean);
  if (exceeded.length > 0) {
    throw clientError('QUOTA_EXCEEDED', `Quota exceeded: this tenant may run ${exceeded.join(' and ')}`);
  }
}

function tenantIdOf(scope: RequestScope): string {
  if (!('tenantId' in scope.principal)) throw new Error('agent services need a tenant principal');
  return scope.principal.tenantId;
}

function creatorOf(scope: RequestScope): string {
  const { actorType, actorId } = actorOf(scope.principal);
  return `${actorType}:${actorId}`;
}

async function flushMappingConflicts(scope: RequestScope): Promise<void> {
  try {
    await scope.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw clientError('CONFLICT', 'An agent with this name already exists');
    throw error;
  }
}
