import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../shared/logger.ts';

/**
 * Marks tasks nobody answered by their deadline TIMED_OUT, about once a second on every replica.
 * The sweep crosses tenants only through `expire_overdue_tasks()` (migrations/0006), an owner-only
 * SECURITY DEFINER function that can do nothing but this and returns ids only. A timed-out task is
 * never handed out again and a late answer to it is refused, so a task that hangs or kills its agent
 * (and would be requeued at every restart) stops holding the agent.
 */
export class TaskTimeouts {
  readonly #orm: MikroORM;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(orm: MikroORM, log: Logger) {
    this.#orm = orm;
    this.#log = log.child({ component: 'task-timeouts' });
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.sweep().catch((error) => this.#log.warn({ err: error }, 'task sweep failed')), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One sweep; returns the ids of the tasks it timed out. */
  async sweep(): Promise<string[]> {
    const rows = await this.#orm.em
      .fork()
      .execute<{ task_id: string; task_tenant_id: string; task_agent_id: string }[]>('select * from expire_overdue_tasks()');
    for (const row of rows) {
      this.#log.info({ taskId: row.task_id, tenantId: row.task_tenant_id, agentId: row.task_agent_id }, 'task timed out');
    }
    return rows.map((row) => row.task_id);
  }
}
