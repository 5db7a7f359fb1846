import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow, selectRows } from '../../db/rows.ts';

/**
 * The tasks module's raw SQL: what an agent's channel reads and writes (task-delivery.ts runs each in
 * a transaction bound to the agent's tenant, under RLS; every statement names the agent) and the
 * timeout sweep across tenants (expire_overdue_tasks, owner-only, ids alone).
 */

/** Tasks the agent had taken but not answered go back to the queue. */
export async function requeueRunning(em: EntityManager, agentId: string): Promise<void> {
  await em.execute("update tasks set status = 'QUEUED', started_at = null where agent_id = ? and status = 'RUNNING'", [agentId]);
}

const takenTask = z.object({ id: z.string(), input: z.string() });

/** Marks the agent's oldest queued task (not past its deadline) RUNNING and answers it; a task another taker locked is skipped. */
export async function takeOldestQueued(em: EntityManager, agentId: string): Promise<z.output<typeof takenTask> | undefined> {
  return selectRow(
    em,
    takenTask,
    `update tasks set status = 'RUNNING', started_at = now()
      where id = (select id from tasks where agent_id = ? and status = 'QUEUED' and (deadline is null or deadline > now())
                   order by id limit 1 for update skip locked)
      returning id, input`,
    [agentId],
  );
}

const idRow = z.object({ id: z.string() });

/** Records the agent's answer to its RUNNING task; false when the task is not the agent's, or not running. */
export async function finishRunning(em: EntityManager, agentId: string, taskId: string, result: string, ok: boolean): Promise<boolean> {
  const rows = await selectRows(
    em,
    idRow,
    `update tasks set status = ?, result = ?, finished_at = now()
      where id = ? and agent_id = ? and status = 'RUNNING' returning id`,
    [ok ? 'SUCCEEDED' : 'FAILED', result, taskId, agentId],
  );
  return rows.length === 1;
}

const configRow = z.object({ config: z.record(z.string(), z.unknown()) });

/** The agent's configuration (a JSON object), or undefined without the agent. */
export async function configOf(em: EntityManager, agentId: string): Promise<Record<string, unknown> | undefined> {
  return (await selectRow(em, configRow, 'select config from agents where id = ?', [agentId]))?.config;
}

const expiredTask = z.object({ task_id: z.string(), task_tenant_id: z.string(), task_agent_id: z.string() });

/** expire_overdue_tasks: fails every task past its deadline, in every tenant; answers which. */
export function expireOverdue(em: EntityManager) {
  return selectRows(em, expiredTask, 'select * from expire_overdue_tasks()');
}
