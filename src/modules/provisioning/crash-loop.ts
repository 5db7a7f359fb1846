import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueueJob } from './job-queue.ts';
import { countCrash, failRunningAgent, markCrashed } from './provisioning.store.ts';

export type RestartPolicy = 'restart' | 'fail';

/** How often an agent whose container keeps exiting is started again before it is FAILED for good. */
export interface CrashLoopPolicy {
  /** Restarts allowed within one window; the exit after the last one marks the agent FAILED. */
  maxRestarts: number;
  /** The window opens at the first exit; an exit after it closed starts a new count. */
  windowSeconds: number;
  /** Delay before restart n (1-based): min(maxBackoffMs, baseBackoffMs * 2^(n-1)). */
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_CRASH_LOOP: CrashLoopPolicy = { maxRestarts: 5, windowSeconds: 600, baseBackoffMs: 1_000, maxBackoffMs: 60_000 };

export type ExitOutcome = 'restarting' | 'failed' | 'ignored';

/**
 * The container of an agent that should run exited on its own or vanished. Under `fail` the agent
 * is FAILED with the reason. Under `restart` it is FAILED with the reason and a converge is queued
 * after a backoff, at most `maxRestarts` times per window; past that it stays FAILED, with a reason
 * saying so, until the tenant starts or restarts it (which resets the count). Status, count and job
 * are written in one transaction under the agent's tenant (RLS), so a crash between them loses
 * nothing. An agent already given up on, or no longer meant to run, is left alone ('ignored').
 */
export async function handleExit(
  em: EntityManager,
  exit: { tenantId: string; agentId: string; reason: string; exitCode: number | null },
  policy: RestartPolicy,
  crashLoop: CrashLoopPolicy,
): Promise<ExitOutcome> {
  return em.transactional(async (tx) => {
    if (policy === 'fail') return (await failRunningAgent(tx, exit.agentId, exit.reason, exit.exitCode)) ? 'failed' : 'ignored';
    const attempt = await countCrash(tx, exit.agentId, crashLoop.windowSeconds, crashLoop.maxRestarts);
    if (attempt === undefined) return 'ignored';
    const giveUp = attempt > crashLoop.maxRestarts;
    const reason = giveUp
      ? `crash loop: ${exit.reason}; restarted ${crashLoop.maxRestarts} times within ${crashLoop.windowSeconds} s, gave up (startAgent or restartAgent to try again)`
      : `${exit.reason}; restart ${attempt} of ${crashLoop.maxRestarts}`;
    await markCrashed(tx, exit.agentId, reason.slice(0, 500), exit.exitCode);
    if (giveUp) return 'failed';
    const delayMs = Math.min(crashLoop.maxBackoffMs, crashLoop.baseBackoffMs * 2 ** (attempt - 1));
    await enqueueJob(tx, {
      tenantId: exit.tenantId,
      kind: 'agent.converge',
      agentId: exit.agentId,
      payload: { reason: exit.reason },
      delayMs,
    });
    return 'restarting';
  });
}

/** What the engine's state says about why a container is not running. */
export function exitReason(state: { oomKilled: boolean; exitCode: number | null } | null): string {
  if (!state) return 'container vanished';
  return state.oomKilled ? 'container was killed: out of memory' : `container exited with code ${state.exitCode ?? '?'}`;
}
