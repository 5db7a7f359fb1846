import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { actorOf } from '../../auth/principal.ts';
import type { RequestScope } from '../../context.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import { clientError, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { Agent } from './agent.entity.ts';

/** Upper bound of an agent's config, serialised. */
export const MAX_CONFIG_BYTES = 64 * 1024;
const UUID = z.uuid();

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
};
const createAgentInput = z.object({
  ...agentFields,
  description: agentFields.description.default(''),
  config: agentFields.config.default({}),
});
const updateAgentInput = z.object(agentFields).partial();

export function listAgents(scope: RequestScope, page: PageArgs): Promise<Agent[]> {
  assertCan(scope.principal, 'agent.read');
  return findPage(scope.em, Agent, {}, page);
}

export async function loadAgents(scope: RequestScope, ids: string[]): Promise<(Agent | null)[]> {
  assertCan(scope.principal, 'agent.read');
  const valid = ids.filter((id) => UUID.safeParse(id).success);
  const found = valid.length > 0 ? await scope.em.find(Agent, { id: { $in: valid } }) : [];
  return ids.map((id) => found.find((agent) => agent.id === id) ?? null);
}

/** Another tenant's agent and a missing one give the same NOT_FOUND. */
export async function getAgent(scope: RequestScope, id: string): Promise<Agent> {
  const [agent] = await loadAgents(scope, [id]);
  if (!agent) throw notFound('Agent', id);
  return agent;
}

export async function createAgent(scope: RequestScope, input: unknown): Promise<Agent> {
  assertCan(scope.principal, 'agent.write');
  const fields = parseInput(createAgentInput, input);
  const tenantId = 'tenantId' in scope.principal ? scope.principal.tenantId : '';
  const agent = scope.em.create(Agent, { id: newId(), tenantId, ...fields, createdBy: creatorOf(scope) });
  recordAudit(scope, { action: 'agent.create', targetType: 'Agent', targetId: agent.id, detail: { name: agent.name, image: agent.image } });
  await flushMappingConflicts(scope);
  return agent;
}

export async function updateAgent(scope: RequestScope, id: string, input: unknown): Promise<Agent> {
  assertCan(scope.principal, 'agent.write');
  const changes = parseInput(updateAgentInput, input);
  const agent = await getAgent(scope, id);
  scope.em.assign(agent, changes);
  recordAudit(scope, { action: 'agent.update', targetType: 'Agent', targetId: agent.id, detail: { fields: Object.keys(changes) } });
  await flushMappingConflicts(scope);
  return agent;
}

export async function deleteAgent(scope: RequestScope, id: string): Promise<string> {
  assertCan(scope.principal, 'agent.write');
  const agent = await getAgent(scope, id);
  scope.em.remove(agent);
  recordAudit(scope, { action: 'agent.delete', targetType: 'Agent', targetId: agent.id, detail: { name: agent.name } });
  await scope.em.flush();
  return agent.id;
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
