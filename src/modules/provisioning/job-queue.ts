import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import { newId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';

export type JobKind = 'agent.converge' | 'agent.remove';

export interface Job {
  id: string;
  tenantId: string;
  kind: JobKind;
  agentId: string;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
}

/**
 * Stages a job in the caller's transaction: it exists if and only if the change that asked for it
 * commits. The insert runs under the caller's RLS setting, so a job can only be queued for the
 * caller's own tenant.
 */
export async function enqueueJob(
  em: EntityManager,
  job: { tenantId: string; kind: JobKind; agentId: string; payload?: Record<string, unknown>; delayMs?: number },
): Promise<string> {
  const id = newId();
  await em.execute(
    'insert into jobs (id, tenant_id, kind, agent_id, payload, run_at) values (?, ?, ?, ?, ?, now() + make_interval(secs => ?))',
    [id, job.tenantId, job.kind, job.agentId, JSON.stringify(job.payload ?? {}), (job.delayMs ?? 0) / 1000],
  );
  return id;
}

export type JobHandler = (job: Job, em: () => EntityManager) => Promise<void>;

export interface JobWorkerOptions {
  orm: MikroORM;
  log: Logger;
  handler: JobHandler;
  /** Parallel job loops in this process. */
  concurrency?: number;
  /** A claimed job is the worker's for this long; a crashed worker's jobs are picked up after it. */
  leaseSeconds?: number;
  /** Poll period when idle (NOTIFY usually wakes the loops sooner). */
  pollMs?: number;
  /** Delay before retry n (1-based): min(maxBackoffMs, baseBackoffMs * 2^(n-1)). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called when a job gave up after its last attempt. */
  onGiveUp?: (job: Job, error: unknown) => Promise<void>;
}

/**
 * Runs durable jobs from the `jobs` table. A loop claims the next due job with `claim_job()` (ids
 * only, see migrations/functions/agents.sql), then reads and runs it in its tenant's context, with RLS, like a
 * request. A job that throws is retried with exponential backoff; one whose worker died is
 * reclaimed when its lease expires. Handlers are idempotent: they converge to the database's
 * current desired state, so running one twice is harmless.
 */
export class JobWorker {
  readonly #options: Required<Omit<JobWorkerOptions, 'onGiveUp'>> & Pick<JobWorkerOptions, 'onGiveUp'>;
  readonly #log: Logger;
  readonly #workerId = `worker-${newId()}`;
  #stopped = false;
  #loops: Promise<void>[] = [];
  #wake: (() => void)[] = [];
  /** Serialises jobs of one agent inside this process (claim_job serialises across processes). */
  readonly #busyAgents = new Set<string>();

  constructor(options: JobWorkerOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as JobWorkerOptions;
    this.#options = { concurrency: 8, leaseSeconds: 60, pollMs: 1_000, baseBackoffMs: 500, maxBackoffMs: 30_000, ...given };
    this.#log = options.log.child({ component: 'job-worker', workerId: this.#workerId });
  }

  start(): void {
    for (let i = 0; i < this.#options.concurrency; i++) this.#loops.push(this.#loop());
  }

  /** Wakes idle loops (on NOTIFY fleetgate_jobs). */
  poke(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.poke();
    await Promise.all(this.#loops);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      let claimed = false;
      try {
        claimed = await this.runOne();
      } catch (error) {
        this.#log.error({ err: error }, 'job loop error');
      }
      if (!claimed && !this.#stopped) await this.#idle();
    }
  }

  #idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#options.pollMs);
      const wake = () => done();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake.push(wake);
    });
  }

  /** Claims and runs one due job; false when none was due. Exposed for tests. */
  async runOne(): Promise<boolean> {
    const { orm, leaseSeconds } = this.#options;
    const rows = await orm.em
      .fork()
      .execute<{ job_id: string; job_tenant_id: string }[]>('select * from claim_job(?, ?)', [this.#workerId, leaseSeconds]);
    const claim = rows[0];
    if (!claim) return false;
    const em = () => forkForTenant(orm, claim.job_tenant_id);
    const [row] = await em().transactional((tx) =>
      tx.execute<Record<string, unknown>[]>(
        'select id, tenant_id, kind, agent_id, payload, attempts, max_attempts from jobs where id = ? and locked_by = ?',
        [claim.job_id, this.#workerId],
      ),
    );
    if (!row) return true; // reclaimed by another worker meanwhile
    const job: Job = {
      id: String(row.id),
      tenantId: String(row.tenant_id),
      kind: row.kind as JobKind,
      agentId: String(row.agent_id),
      payload: (row.payload ?? {}) as Record<string, unknown>,
      attempts: Number(row.attempts),
      maxAttempts: Number(row.max_attempts),
    };
    const log = this.#log.child({ jobId: job.id, kind: job.kind, tenantId: job.tenantId, agentId: job.agentId, attempt: job.attempts });
    while (this.#busyAgents.has(job.agentId)) await new Promise((resolve) => setTimeout(resolve, 20));
    this.#busyAgents.add(job.agentId);
    const started = performance.now();
    try {
      log.debug('job started');
      await this.#options.handler(job, em);
      await em().transactional((tx) =>
        tx.execute("update jobs set status = 'DONE', locked_until = null, updated_at = now() where id = ?", [job.id]),
      );
      log.info({ ms: Math.round(performance.now() - started) }, 'job done');
    } catch (error) {
      const message = error instanceof Error ? error.message.slice(0, 1000) : 'unknown error';
      if (job.attempts >= job.maxAttempts) {
        log.error({ err: error }, 'job failed for good');
        await em().transactional((tx) =>
          tx.execute("update jobs set status = 'FAILED', last_error = ?, locked_until = null, updated_at = now() where id = ?", [
            message,
            job.id,
          ]),
        );
        await this.#options.onGiveUp?.(job, error);
      } else {
        const delay = Math.min(this.#options.maxBackoffMs, this.#options.baseBackoffMs * 2 ** (job.attempts - 1));
        log.warn({ err: error, retryInMs: delay }, 'job failed, will retry');
        await em().transactional((tx) =>
          tx.execute(
            `update jobs set status = 'QUEUED', last_error = ?, locked_by = null, locked_until = null,
               run_at = now() + make_interval(secs => ?), updated_at = now() where id = ?`,
            [message, delay / 1000, job.id],
          ),
        );
      }
    } finally {
      this.#busyAgents.delete(job.agentId);
    }
    return true;
  }
}
