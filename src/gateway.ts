import type { Redis } from 'ioredis';
import type { Keyring } from './auth/keyring.ts';
import { TokenIssuer } from './auth/tokens.ts';
import { openOrm } from './db/orm.ts';
import { credentialStartSecrets } from './modules/credentials/credential-delivery.ts';
import { type KeyProvider, unconfiguredKeyProvider } from './modules/credentials/key-provider.ts';
import { credentialKeyHolder, KeyRotation } from './modules/credentials/key-rotation.ts';
import { backupArchiveKeyHolder } from './modules/enterprise/backup.service.ts';
import { agentTokenStartSecret } from './modules/memory/agent-tokens.ts';
import { MemoryChannel } from './modules/memory/memory-channel.ts';
import { memoryKeyHolder } from './modules/memory/memory-keys.ts';
import { memoryMaintenanceJob } from './modules/memory/memory-maintenance.ts';
import { AccessGate } from './modules/policy/access-gate.ts';
import { IsolationCanary } from './modules/policy/isolation-canary.ts';
import { type AgentRuntime, type AgentRuntimeOptions, startAgentRuntime } from './modules/provisioning/agent-runtime.ts';
import { type AllowedImage, ImageAllowList } from './modules/provisioning/image-allow-list.ts';
import { taskHistoryRetentionJob } from './modules/retention/task-history.ts';
import { TenantPolicyWatcher, type TenantPolicyWatcherOptions } from './modules/tenants/tenant-policy-watcher.ts';
import { createServer, type PolicyOptions } from './server.ts';
import type { Logger } from './shared/logger.ts';
import { Metrics } from './shared/metrics.ts';

export interface GatewayOptions {
  /** The app role's connection (not superuser, no BYPASSRLS). */
  appUrl: string;
  keyring: Keyring;
  log: Logger;
  userTokenTtl: string;
  policy: Omit<PolicyOptions, 'redis'> & { redis?: Redis };
  /** Isolation canary period; 0 runs it once at start only. */
  canaryIntervalMs: number;
  poolSize?: number;
  watcher?: TenantPolicyWatcherOptions;
  /** Tests only: the ORM connects here instead (e.g. a superuser, to remove the RLS wall). */
  ormUrl?: string;
  /** Tests only: see ServerDeps. */
  disableScopeAuth?: boolean;
  /** Benchmarks only: see ServerDeps. */
  withoutPolicies?: boolean;
  /** Benchmarks only: audit events are staged but never written (bench/audit-bench.ts measures their cost). */
  withoutAudit?: boolean;
  /** Tests and benchmarks: skip the canary (it creates two tenants). */
  withoutCanary?: boolean;
  /** The operator's allow-list of agent images (the reference image is always on it). */
  agentImages?: AllowedImage[];
  /** Tenant backups: the archive directory (archive data keys are wrapped by keyProvider). Absent: backups are refused. */
  backups?: { dir: string };
  /** Run agents: the container engine and its settings. Absent: agents are recorded and their jobs wait. */
  runtime?: Omit<AgentRuntimeOptions, 'orm' | 'appUrl' | 'log' | 'metrics' | 'allowList'>;
  /**
   * The KEK (local keyring or Vault) wrapping the data keys of agent credentials and agent memory.
   * Absent: their operations fail closed.
   */
  keyProvider?: KeyProvider;
  /** How often each replica looks for data keys left to rewrap after a KEK rotation (default 60 s; 0: at start only). */
  keyRewrapIntervalMs?: number;
  /** Memory expiry and purge period; 0 runs it once at start only. Default: hourly. */
  memoryMaintenanceIntervalMs?: number;
  /** Task history retention period (finished tasks past their tenant's retention); 0 runs it once at start only. Default: hourly. */
  taskRetentionIntervalMs?: number;
}

/**
 * Everything one gateway replica runs, wired once: the ORM as the app role, the tenant policy
 * feed, the access gate, the GraphQL server and the isolation canary. main.ts and the tests both
 * start the gateway through here, so what is tested is what runs.
 */
export async function startGateway(options: GatewayOptions) {
  const orm = await openOrm(options.ormUrl ?? options.appUrl, { poolSize: options.poolSize ?? 10, withoutAudit: options.withoutAudit });
  const tokens = new TokenIssuer(options.keyring, options.userTokenTtl);
  const metrics = new Metrics();
  const watcher = new TenantPolicyWatcher(options.appUrl, options.log, options.watcher);
  await watcher.start();
  const gate = new AccessGate(watcher, options.log);
  const allowList = new ImageAllowList(options.agentImages);
  const keyProvider = options.keyProvider ?? unconfiguredKeyProvider();
  const keyRotation = new KeyRotation({
    orm,
    provider: keyProvider,
    log: options.log,
    holders: [
      credentialKeyHolder(orm, keyProvider),
      memoryKeyHolder(orm, keyProvider),
      ...(options.backups ? [backupArchiveKeyHolder(options.backups.dir, keyProvider)] : []),
    ],
  });
  if (options.keyProvider) keyRotation.start(options.keyRewrapIntervalMs ?? 60_000);
  const startSecrets = [credentialStartSecrets(keyProvider), agentTokenStartSecret(tokens), ...(options.runtime?.startSecrets ?? [])];
  // Channel memory requests go through this replica's own GraphQL server, built just below.
  let yoga: ReturnType<typeof createServer> | undefined;
  const memoryChannel = new MemoryChannel({
    orm,
    tokens,
    log: options.log,
    fetch: async (request) => {
      if (!yoga) throw new Error('gateway not ready');
      return yoga.fetch(request);
    },
  });
  const runtime: AgentRuntime | undefined = options.runtime
    ? await startAgentRuntime({
        ...options.runtime,
        orm,
        appUrl: options.appUrl,
        log: options.log,
        metrics,
        allowList,
        startSecrets,
        channelExtensions: memoryChannel,
      })
    : undefined;
  const server = createServer({
    orm,
    tokens,
    auditKey: options.keyring.auditKey,
    log: options.log,
    gate,
    metrics,
    policy: options.policy,
    agentRuntime: { allowList, engine: runtime?.engine, taskTimeoutSeconds: options.runtime?.taskTimeoutSeconds },
    keys: { provider: keyProvider, rotation: keyRotation },
    backups: options.backups && { keys: keyProvider, dir: options.backups.dir },
    disableScopeAuth: options.disableScopeAuth,
    withoutPolicies: options.withoutPolicies,
  });
  yoga = server;
  const canary = new IsolationCanary({
    orm,
    appUrl: options.appUrl,
    tokens,
    gate,
    metrics,
    log: options.log,
    fetch: (url, init) => Promise.resolve(server.fetch(url, init)),
  });
  if (!options.withoutCanary) await canary.start(options.canaryIntervalMs);
  const memoryMaintenance = memoryMaintenanceJob(orm, options.log);
  memoryMaintenance.start(options.memoryMaintenanceIntervalMs ?? 3_600_000);
  const taskRetention = taskHistoryRetentionJob(orm, options.log);
  taskRetention.start(options.taskRetentionIntervalMs ?? 3_600_000);
  return {
    yoga: server,
    orm,
    tokens,
    metrics,
    gate,
    watcher,
    canary,
    runtime,
    keyProvider,
    keyRotation,
    async close() {
      canary.stop();
      await keyRotation.stop();
      await memoryMaintenance.stop();
      await taskRetention.stop();
      await runtime?.stop();
      await watcher.stop();
      await orm.close(true);
    },
  };
}
