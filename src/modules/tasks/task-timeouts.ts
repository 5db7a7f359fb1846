import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../shared/logger.ts';
import { PeriodicJob } from '../../shared/periodic-job.ts';
import { expireOverdue } from './task.store.ts';

/**
 * Marks tasks nobody answered by their deadline TIMED_OUT, about once a second on every replica.
 * The sweep crosses tenants only through `expire_overdue_tasks()` (migrations/functions/agents.sql), an owner-only
 * SECURITY DEFINER function that can do nothing but this and returns ids only. A timed-out task is
 * never handed out again and a late answer to it is refused, so a task that hangs or kills its agent
 * (and would be requeued at every restart) stops holding the agent.
 */
export class TaskTimeouts {
  readonly #orm: MikroORM;
  readonly #log: Logger;
  /** One sweep at a time, and stop() waits for the one under way (it must not outlive the ORM). */
  readonly #job: PeriodicJob;

  constructor(orm: MikroORM, log: Logger) {
    this.#orm = orm;
    this.#log = log.child({ component: 'task-timeouts' });
    this.#job = new PeriodicJob('task sweep', this.#log, async () => {
      await this.sweep();
    });
  }

  start(intervalMs: number): void {
    this.#job.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  /** One sweep; returns the ids of the tasks it timed out. */
  async sweep(): Promise<string[]> {
    const rows = await expireOverdue(this.#orm.em.fork());
    for (const row of rows) {
      this.#log.info({ taskId: row.task_id, tenantId: row.task_tenant_id, agentId: row.task_agent_id }, 'task timed out');
    }
    return rows.map((row) => row.task_id);
  }
}
