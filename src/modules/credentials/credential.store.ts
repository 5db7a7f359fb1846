import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The credentials module's raw SQL: the row lock a credential write takes on its agent, in the
 * request's transaction under its RLS setting. It answers no row to parse.
 */

/** Locks the agent's row until the transaction ends, so writes of one agent's credentials queue behind one another. */
export async function lockAgentRow(em: EntityManager, agentId: string): Promise<void> {
  await em.execute('select 1 from agents where id = ? for update', [agentId]);
}
