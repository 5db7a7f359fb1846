import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { actorOf } from '../../auth/principal.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { RequestScope } from '../../request/scope.ts';
import { notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { type AgentScope, getAgent } from '../agents/index.ts';
import { recordAudit } from '../audit/index.ts';
import { Task } from './task.entity.ts';

const runTaskInput = z.object({ input: z.string().min(1).max(65_536), timeoutSeconds: z.number().int().min(1).max(86_400).optional() });
export const DEFAULT_TASK_TIMEOUT_SECONDS = 600;

/**
 * Queues a task for one of the caller's agents; the agent takes it over its channel when it asks for
 * work. Every task has a deadline, so none waits forever on an agent that is down or hangs.
 */
export async function runTask(scope: AgentScope, agentId: string, input: unknown): Promise<Task> {
  assertCan(scope.principal, 'agent.write');
  const fields = parseInput(runTaskInput, input);
  const agent = await getAgent(scope, agentId);
  const { actorType, actorId } = actorOf(scope.principal);
  // One instant for both, so the deadline is exactly the timeout after the task's creation.
  const createdAt = new Date();
  const task = scope.em.create(Task, {
    id: newId(),
    tenantId: agent.tenantId,
    agentId: agent.id,
    input: fields.input,
    createdAt,
    deadline: new Date(
      createdAt.getTime() + 1000 * (fields.timeoutSeconds ?? scope.agentRuntime.taskTimeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS),
    ),
    createdBy: `${actorType}:${actorId}`,
  });
  recordAudit(scope, { action: 'task.run', targetType: 'Task', targetId: task.id, detail: { agentId: agent.id, deadline: task.deadline } });
  await scope.em.flush();
  return task;
}

export function listTasks(scope: RequestScope, agentId: string, page: PageArgs): Promise<Task[]> {
  assertCan(scope.principal, 'agent.read');
  return findPage(scope.em, Task, { agentId }, page);
}

export async function loadTasks(scope: RequestScope, ids: string[]): Promise<(Task | null)[]> {
  assertCan(scope.principal, 'agent.read');
  const valid = ids.filter((id) => isUuid(id));
  const found = valid.length > 0 ? await scope.em.find(Task, { id: { $in: valid } }) : [];
  return ids.map((id) => found.find((task) => task.id === id) ?? null);
}

/** Another tenant's task and a missing one give the same NOT_FOUND. */
export async function getTask(scope: RequestScope, id: string): Promise<Task> {
  const [task] = await loadTasks(scope, [id]);
  if (!task) throw notFound('Task');
  return task;
}
