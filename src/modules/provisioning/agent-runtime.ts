import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { StartSecretSource } from '../credentials/index.ts';
import { EgressEvents, type EgressEventsOptions } from '../egress/egress-events.ts';
import { EgressProxy, type EgressProxyOptions } from '../egress/egress-proxy.ts';
import { TaskTimeouts } from '../tasks/index.ts';
import { AgentChannels, type ChannelExtensions } from './agent-channel.ts';
import { referenceImage } from './agent-image.ts';
import type { ContainerRuntime } from './container-runtime.ts';
import type { CrashLoopPolicy } from './crash-loop.ts';
import type { ImageAllowList } from './image-allow-list.ts';
import { JobWorker } from './job-queue.ts';
import { Provisioner } from './provisioner.service.ts';
import { Reconciler, type RestartPolicy } from './reconciler.ts';
import { RuntimeNotifier } from './runtime-notifier.ts';

export interface AgentRuntimeOptions {
  orm: MikroORM;
  appUrl: string;
  log: Logger;
  metrics: Metrics;
  engine: ContainerRuntime;
  allowList: ImageAllowList;
  /** Host directory for the per-agent channels. */
  channelRoot: string;
  restartPolicy?: RestartPolicy;
  /** Backoff and cap for agents whose container keeps exiting (default DEFAULT_CRASH_LOOP). */
  crashLoop?: CrashLoopPolicy;
  /** Default task timeout when runTask gives none (default 600 s). */
  taskTimeoutSeconds?: number;
  /** How often overdue tasks are marked TIMED_OUT (default 1000 ms). */
  taskSweepMs?: number;
  /** 0: reconcile at start only. */
  reconcileIntervalMs?: number;
  workers?: number;
  /** Job retry backoff (tests shorten it). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  leaseSeconds?: number;
  /** Tests only: do not start the job loops (they drive `worker.runOne()` themselves). */
  manualJobs?: boolean;
  /** Secrets delivered into each agent's process at start (see StartSecretSource). */
  startSecrets?: StartSecretSource[];
  /** More channel verbs (agent memory). */
  channelExtensions?: ChannelExtensions;
  /**
   * The egress proxy egress agents reach at their tenant network's gateway (docs/security-model.md,
   * Egress): its port, the DANGEROUS private ranges it may connect to, … `false`: none (egress agents
   * then reach nothing). Default: port 3128, public addresses only.
   */
  egress?:
    | (Omit<EgressProxyOptions, 'log' | 'onEvent'> & Pick<EgressEventsOptions, 'burstThreshold' | 'burstWindowMs' | 'flushMs'>)
    | false;
}

/**
 * Everything that runs agents on one gateway replica: the engine, the per-agent channels, the
 * durable job worker with its provisioner, the reconciler and the notification listener.
 */
export async function startAgentRuntime(options: AgentRuntimeOptions) {
  const log = options.log;
  const reference = await referenceImage();
  options.allowList.setReferenceTag(reference.tag);
  const channels = new AgentChannels({ orm: options.orm, log, root: options.channelRoot, extensions: options.channelExtensions });
  await channels.init();
  const egressEvents =
    options.egress === false ? undefined : new EgressEvents({ orm: options.orm, log, metrics: options.metrics, ...options.egress });
  const egress =
    options.egress === false || !egressEvents ? undefined : new EgressProxy({ ...options.egress, log, onEvent: egressEvents.record });
  const provisioner = new Provisioner({
    runtime: options.engine,
    channels,
    allowList: options.allowList,
    reference,
    log,
    metrics: options.metrics,
    restartPolicy: options.restartPolicy,
    crashLoop: options.crashLoop,
    startSecrets: options.startSecrets,
    egress,
  });
  const worker = new JobWorker({
    orm: options.orm,
    log,
    handler: provisioner.handle,
    onGiveUp: (job, error) => provisioner.giveUp(job, () => forkForTenant(options.orm, job.tenantId), error),
    concurrency: options.workers ?? 8,
    baseBackoffMs: options.baseBackoffMs,
    maxBackoffMs: options.maxBackoffMs,
    leaseSeconds: options.leaseSeconds,
  });
  const reconciler = new Reconciler({
    orm: options.orm,
    runtime: options.engine,
    channels,
    log,
    restartPolicy: options.restartPolicy ?? 'restart',
    crashLoop: options.crashLoop,
  });
  const notifier = new RuntimeNotifier(options.appUrl, log);
  notifier.onJob = () => worker.poke();
  notifier.onTask = (agentId) => channels.wake(agentId);
  await notifier.start();

  // Build the reference image now so the first agent starts fast; an engine that is down now is retried by the jobs.
  await options.engine.ensureImage(reference.tag, reference.build).catch((error) => {
    log.warn({ err: error }, 'reference image not built at start; provisioning will retry');
  });
  await reconciler.reconcile().catch(() => undefined);
  if (!options.manualJobs) worker.start();
  reconciler.start(options.reconcileIntervalMs ?? 30_000);
  const taskTimeouts = new TaskTimeouts(options.orm, log);
  taskTimeouts.start(options.taskSweepMs ?? 1_000);

  return {
    engine: options.engine,
    allowList: options.allowList,
    reference,
    channels,
    worker,
    reconciler,
    taskTimeouts,
    egress,
    egressEvents,
    async stop() {
      await taskTimeouts.stop();
      reconciler.stop();
      await worker.stop();
      channels.closeAll();
      await egress?.close();
      await egressEvents?.flush();
      await notifier.stop();
    },
  };
}

export type AgentRuntime = Awaited<ReturnType<typeof startAgentRuntime>>;
