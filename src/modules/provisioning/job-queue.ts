import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import { newId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { claimedJob, claimJob, insertJob, type Job, type JobKind, markJobDone, markJobFailed, requeueJob } from './provisioning.store.ts';

export type { Job, JobKind } from './provisioning.store.ts';

/**
 * Stages a job in the caller's transaction: it exists if and only if the change that asked for it
 * commits. The insert runs under the caller's RLS setting, so a job can only be queued for the
 * caller's own tenant.
 */
export async function enqueueJob(
  em: EntityManager,
  job: { tenantId: string; kind: JobKind; agentId: string; payload?: Record<string, unknown>; delayMs?: number },
): Promise<string> {
  return insertJob(em, job);
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
    const claim = await claimJob(orm.em.fork(), this.#workerId, leaseSeconds);
    if (!claim) return false;
    const em = () => forkForTenant(orm, claim.job_tenant_id);
    const job = await em().transactional((tx) => claimedJob(tx, claim.job_id, this.#workerId));
    if (!job) return true; // reclaimed by another worker meanwhile
    const log = this.#log.child({ jobId: job.id, kind: job.kind, tenantId: job.tenantId, agentId: job.agentId, attempt: job.attempts });
    while (this.#busyAgents.has(job.agentId)) await new Promise((resolve) => setTimeout(resolve, 20));
    this.#busyAgents.add(job.agentId);
    const started = performance.now();
    try {
      log.debug('job started');
      await this.#options.handler(job, em);
      await em().transactional((tx) => markJobDone(tx, job.id));
      log.info({ ms: Math.round(performance.now() - started) }, 'job done');
    } catch (error) {
      const message = error instanceof Error ? error.message.slice(0, 1000) : 'unknown error';
      if (job.attempts >= job.maxAttempts) {
        log.error({ err: error }, 'job failed for good');
        await em().transactional((tx) => markJobFailed(tx, job.id, message));
        await this.#options.onGiveUp?.(job, error);
      } else {
        const delay = Math.min(this.#options.maxBackoffMs, this.#options.baseBackoffMs * 2 ** (job.attempts - 1));
        log.warn({ err: error, retryInMs: delay }, 'job failed, will retry');
        await em().transactional((tx) => requeueJob(tx, job.id, message, delay));
      }
    } finally {
      this.#busyAgents.delete(job.agentId);
    }
    return true;
  }
}
