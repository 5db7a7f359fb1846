import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * What an agent's channel does in the database. Every function runs in a transaction bound to the
 * agent's tenant (RLS) and names the agent the channel belongs to: an agent only ever sees and
 * answers its own tasks.
 */

/** Tasks the agent had taken but not answered go back to the queue (its container (re)started). */
export async function requeueUnanswered(em: EntityManager, agentId: string): Promise<void> {
  await em.transactional((tx) =>
    tx.execute("update tasks set status = 'QUEUED', started_at = null where agent_id = ? and status = 'RUNNING'", [agentId]),
  );
}

/** Hands the agent its oldest queued task, or null. */
export async function takeNextTask(em: EntityManager, agentId: string): Promise<{ id: string; input: string } | null> {
  const rows = await em.transactional((tx) =>
    tx.execute<{ id: string; input: string }[]>(
      `update tasks set status = 'RUNNING', started_at = now()
        where id = (select id from tasks where agent_id = ? and status = 'QUEUED' and (deadline is null or deadline > now())
                     order by id limit 1 for update skip locked)
        returning id, input`,
      [agentId],
    ),
  );
  return rows[0] ?? null;
}

export async function answerTask(em: EntityManager, agentId: string, taskId: string, result: string, ok: boolean): Promise<boolean> {
  const rows = await em.transactional((tx) =>
    tx.execute<{ id: string }[]>(
      `update tasks set status = ?, result = ?, finished_at = now()
        where id = ? and agent_id = ? and status = 'RUNNING' returning id`,
      [ok ? 'SUCCEEDED' : 'FAILED', result, taskId, agentId],
    ),
  );
  return rows.length === 1;
}

export async function agentConfig(em: EntityManager, agentId: string): Promise<Record<string, unknown>> {
  const rows = await em.transactional((tx) =>
    tx.execute<{ config: Record<string, unknown> }[]>('select config from agents where id = ?', [agentId]),
  );
  return rows[0]?.config ?? {};
}
