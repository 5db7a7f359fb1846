import type { EntityManager } from '@mikro-orm/postgresql';
import * as store from './task.store.ts';

/**
 * What an agent's channel does with its tasks (the SQL is in task.store.ts). Every function runs in a transaction bound to the
 * agent's tenant (RLS) and names the agent the channel belongs to: an agent only ever sees and
 * answers its own tasks.
 */

/** Tasks the agent had taken but not answered go back to the queue (its container (re)started). */
export async function requeueUnanswered(em: EntityManager, agentId: string): Promise<void> {
  await em.transactional((tx) => store.requeueRunning(tx, agentId));
}

/** Hands the agent its oldest queued task, or null. */
export async function takeNextTask(em: EntityManager, agentId: string): Promise<{ id: string; input: string } | null> {
  return (await em.transactional((tx) => store.takeOldestQueued(tx, agentId))) ?? null;
}

export async function answerTask(em: EntityManager, agentId: string, taskId: string, result: string, ok: boolean): Promise<boolean> {
  return em.transactional((tx) => store.finishRunning(tx, agentId, taskId, result, ok));
}

export async function agentConfig(em: EntityManager, agentId: string): Promise<Record<string, unknown>> {
  return (await em.transactional((tx) => store.configOf(tx, agentId))) ?? {};
}
