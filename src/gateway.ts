import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Keyring } from './auth/keyring.ts';
import { TokenLiveness, type TokenLivenessOptions } from './auth/token-liveness.ts';
import { TokenIssuer } from './auth/tokens.ts';
import { CONSOLE_APP, consoleManifest } from './console/console-app.ts';
import { ChangeFeed } from './db/change-feed.ts';
import type { DatabaseTimeouts } from './db/database-faults.ts';
import { openOrm } from './db/orm.ts';
import { DEFAULT_REGION, type Region, Regions } from './db/regions.ts';
import { ormModel } from './entities.ts';
import { type KeyProvider, KeyRotation, unconfiguredKeyProvider, VaultKeyProvider } from './keys/index.ts';
import { CREDENTIAL_KEY_TABLE, credentialKeyHolder, credentialStartSecrets } from './modules/credentials/index.ts';
import { DocumentRegistry, GATEWAY_APP, gatewayManifest } from './modules/documents/index.ts';
import { backupArchiveKeyHolder } from './modules/enterprise/index.ts';
import { type LiveLimits, LiveRedisNames, LiveRelay, LiveUpdates, RedisFanOut } from './modules/live/index.ts';
import {
  agentTokenStartSecret,
  MEMORY_KEY_TABLE,
  MemoryChannel,
  memoryEscrowHolder,
  memoryKeyHolder,
  memoryMaintenanceJob,
  SHARING_KEY_TABLE,
  sharingKeyHolder,
} from './modules/memory/index.ts';
import { IssuerKeys } from './modules/oidc/index.ts';
import {
  AccessGate,
  type CanaryHistoryRetention,
  DEFAULT_MAX_COST,
  DEFAULT_PAGE_SIZE,
  IsolationCanary,
  RateLimits,
  replicaNameOf,
} from './modules/policy/index.ts';
import {
  type AgentRuntime,
  type AgentRuntimeOptions,
  type AllowedImage,
  type ContainerRuntime,
  ImageAllowList,
  startAgentRuntime,
} from './modules/provisioning/index.ts';
import { taskHistoryRetentionJob } from './modules/retention/index.ts';
import {
  type ErasureDeps,
  RegionalTenantPolicies,
  type TenantDeletionSettings,
  TenantPolicyWatcher,
  type TenantPolicyWatcherOptions,
  tenantErasureJob,
} from './modules/tenants/index.ts';
import type { TestingSwitches } from './request/context.ts';
import { type GraphqlWsSettings, serveGraphqlWs } from './request/graphql-ws.ts';
import { createServer, DEFAULT_MAX_DOCUMENT_CHARACTERS, DEFAULT_MAX_REQUEST_BYTES, type PolicyOptions } from './server.ts';
import type { Logger } from './shared/logger.ts';
import { Metrics } from './shared/metrics.ts';
import type { PeriodicJob } from './shared/periodic-job.ts';
import { Readiness } from './shared/readiness.ts';

/** A region beside the home one: its database (migrated with the region's name, see migrate()) and its archives. */
export interface RegionOptions {
  name: string;
  /** The app role's connection to the region's database. */
  appUrl: string;
  /** Where the region's backup archives go; default: `<backups.dir>/<name>`. */
  backupDir?: string;
}

export interface GatewayOptions {
  /** The home region's app role connection (not superuser, no BYPASSRLS). */
  appUrl: string;
  /** The home region's name (default eu-1): anonymous and operator requests run there, tenants are created there by default. */
  homeRegion?: string;
  /** Further regions, each a database of its own (data residency: a tenant's data lives only in its region's). */
  regions?: RegionOptions[];
  keyring: Keyring;
  log: Logger;
  userTokenTtl: string;
  /** `redis` (REDIS_URL): shared rate-limit counters, and live updates fanned out across replicas (see `liveRedis`). */
  policy: Omit<PolicyOptions, 'redis'> & { redis?: Redis };
  /** Isolation canary period; 0 runs it once at start only. */
  canaryIntervalMs: number;
  /** This replica's name in the isolation canary's history (REPLICA_NAME); default the host's name (replicaNameOf). */
  replicaName?: string;
  /** How long the isolation canary's history keeps runs; default DEFAULT_HISTORY (30 days). */
  canaryHistory?: CanaryHistoryRetention;
  poolSize?: number;
  /** Statement, lock, idle-in-transaction and pool-wait limits of every region's app-role pool; absent: none. */
  databaseTimeouts?: DatabaseTimeouts;
  watcher?: TenantPolicyWatcherOptions;
  /** Tests and benchmarks only: see TestingSwitches. */
  testing?: TestingSwitches;
  /** Live updates (subscriptions): per-tenant limit, idle time and lifetime of a stream (LiveUpdates' defaults otherwise). */
  live?: Partial<LiveLimits>;
  /**
   * Live updates through Redis, when `policy.redis` is set: `instance` names the deployment in Redis
   * (FLEETGATE_INSTANCE; default `fleetgate`); the timings are LiveRelay's and RedisFanOut's (tests shorten them).
   */
  liveRedis?: { instance?: string; relayPollMs?: number; staleAfterMs?: number; leaseMs?: number };
  /** How much, and how long, this replica remembers of user tokens the database found live (TokenLiveness's defaults otherwise). */
  tokenLiveness?: TokenLivenessOptions;
  /** `false` (METRICS_ENABLED=false): no per-request metrics and no process metrics. Default true. */
  metricsEnabled?: boolean;
  /** Tenants broken out by a `tenant` label in the operation metrics (see MetricsOptions.tenantLabels); default none. */
  metricsTenantLabels?: readonly string[];
  /** The operator's allow-list of agent images (the reference image is always on it). */
  agentImages?: AllowedImage[];
  /** Tenant backups: the home region's archive directory (archive data keys are wrapped by keyProvider). Absent: backups are refused. */
  backups?: { dir: string };
  /**
   * Run agents: the home region's container engine and the settings. Absent: agents are recorded and their jobs wait.
   * `engineFor` gives another region's engine (its own instance label, so one region's reconciler never sees another's containers).
   */
  runtime?: Omit<AgentRuntimeOptions, 'orm' | 'appUrl' | 'log' | 'metrics' | 'allowList'> & {
    engineFor?: (region: string) => ContainerRuntime;
  };
  /**
   * The KEK (local keyring or Vault) wrapping the data keys of agent credentials and agent memory.
   * Absent: their operations fail closed.
   */
  keyProvider?: KeyProvider;
  /** How often each replica looks for data keys left to rewrap after a KEK rotation (default 60 s; 0: at start only). */
  keyRewrapIntervalMs?: number;
  /** Memory expiry and purge period; 0 runs it once at start only. Default: hourly. */
  memoryMaintenanceIntervalMs?: number;
  /** Least time between two fetches of an issuer's key set for an unknown key id (default 5 s); see IssuerKeys. */
  oidcJwksCooldownMs?: number;
  /** Task history retention period (finished tasks past their tenant's retention); 0 runs it once at start only. Default: hourly. */
  taskRetentionIntervalMs?: number;
  /**
   * Tenant deletion: the grace period (default 7 days, env TENANT_DELETION_GRACE_SECONDS) and how often
   * each region's erasure job looks for deletions past it (0: at start only; default every 15 minutes).
   */
  tenantDeletion?: Partial<TenantDeletionSettings> & { erasureIntervalMs?: number; testing?: ErasureDeps['testing'] };
}

/**
 * Everything one gateway replica runs, wired once from its starters (regions, policy feed, keys,
 * agent runtimes, the GraphQL server, canaries, background jobs), each of which owns what it started
 * and closes it. main.ts and the tests both start the gateway through here, so what is tested is
 * what runs. `close()` stops them in the reverse order: nothing is left using a pool it closed.
 */
export async function startGateway(options: GatewayOptions) {
  const regions = await openRegions(options);
  const logFor = (region: Region) => (region === regions.home ? options.log : options.log.child({ region: region.name }));
  const tokens = new TokenIssuer(options.keyring, options.userTokenTtl);
  const recordMetrics = options.metricsEnabled ?? true;
  // Metrics off: nothing recorded per request and no process sampling (event loop, GC observers).
  const metrics = new Metrics({ tenantLabels: options.metricsTenantLabels, processMetrics: recordMetrics });
  // Every listener of the regions' change feeds subscribes first, then the feeds start: nothing goes unheard.
  const feeds = changeFeeds(regions, logFor);
  const feed = followPolicyFeeds(feeds, regions, logFor, options);
  const { gate, watcher, tokenLiveness } = feed;
  const documents = new DocumentRegistry({ regions, feeds, log: options.log });
  documents.start();
  const liveUpdates = startLiveUpdates(feeds, regions, feed.watchers, gate, options);
  const { live } = liveUpdates;
  await Promise.all(feeds.map((each) => each.start()));
  await feed.start();
  liveUpdates.startRelays();
  // The gateway's own operations, as a platform app.
  const builtIn = gatewayManifest();
  await documents.seedPlatformApp(GATEWAY_APP, builtIn.version, builtIn.documents);
  const consoleApp = consoleManifest();
  await documents.seedPlatformApp(CONSOLE_APP, consoleApp.version, consoleApp.documents);
  const allowList = new ImageAllowList(options.agentImages);
  const keys = startKeys(regions, options);
  const { keyProvider, keyRotation } = keys;
  const rateLimits = new RateLimits({
    tenantPerMinute: options.policy.tenantRateLimitPerMinute,
    apiKeyPerMinute: options.policy.apiKeyRateLimitPerMinute,
    redis: options.policy.redis,
    policies: gate.policies,
    metrics,
    signUpPerIpPerHour: options.policy.signUpPerIpPerHour,
  });
  // RENEW on the channel goes through this replica's own GraphQL server, built just below.
  let yoga: ReturnType<typeof createServer> | undefined;
  const memoryChannel = new MemoryChannel({
    tokens,
    log: options.log,
    gate,
    rateLimits,
    regions,
    keys: { provider: keyProvider },
    fetch: async (request) => {
      if (!yoga) throw new Error('gateway not ready');
      return yoga.fetch(request);
    },
  });
  const runtimes = await startRuntimes(regions, logFor, options, {
    metrics,
    allowList,
    startSecrets: [credentialStartSecrets(keyProvider), agentTokenStartSecret(tokens), ...(options.runtime?.startSecrets ?? [])],
    channelExtensions: memoryChannel,
  });
  const runtime = runtimes.get(regions.home);
  const readiness = new Readiness({
    gate,
    orms: regions.all.map((region) => region.orm),
    keyProvider: options.keyProvider,
    keyProviderLogin:
      options.keyProvider instanceof VaultKeyProvider && options.keyProvider.session.logsIn ? options.keyProvider.session : undefined,
    liveFanOut: liveUpdates.fanOut,
    engines: [...runtimes.keys()].flatMap((region) => (region.engine ? [region.engine] : [])),
    log: options.log,
  });
  metrics.watch({
    lockedDown: () => gate.lockedDown,
    freezeFeedCurrent: () => watcher.isCurrent(),
    draining: () => readiness.draining,
    liveStreams: () => live.openStreams,
    liveFanOutUp: liveUpdates.fanOut && (() => liveUpdates.fanOut?.listening === true),
    liveRelays: () => liveUpdates.relays.filter((each) => each.relaying).length,
  });
  const server = createServer({
    documents,
    readiness,
    regions,
    tokens,
    tokenLiveness,
    auditKey: options.keyring.auditKey,
    log: options.log,
    gate,
    metrics,
    policy: options.policy,
    rateLimits,
    agentRuntime: { allowList, taskTimeoutSeconds: options.runtime?.taskTimeoutSeconds },
    keys: { provider: keyProvider, rotation: keyRotation, tenantTables: [CREDENTIAL_KEY_TABLE, MEMORY_KEY_TABLE, SHARING_KEY_TABLE] },
    backups: options.backups && { keys: keyProvider },
    oidc: new IssuerKeys({
      allowLoopbackHttp: options.policy.mode === 'development',
      jwksCooldownMs: options.oidcJwksCooldownMs,
      log: options.log,
    }),
    signUp: {
      mode: options.policy.signUp ?? (options.policy.mode === 'production' ? 'invite' : 'open'),
      admit: (clientAddress) => rateLimits.admitSignUp(clientAddress),
    },
    live,
    tenantDeletion: options.tenantDeletion?.graceSeconds !== undefined ? { graceSeconds: options.tenantDeletion.graceSeconds } : undefined,
    testing: options.testing,
    recordMetrics,
  });
  yoga = server;
  const canaries = await startCanaries(regions, logFor, options, {
    tokens,
    gate,
    metrics,
    fetch: (url, init) => Promise.resolve(server.fetch(url, init)),
  });
  const jobs = startBackgroundJobs(regions, logFor, options);
  return {
    yoga: server,
    /** The home region's ORM. */
    orm: regions.home.orm,
    regions,
    tokens,
    tokenLiveness,
    metrics,
    gate,
    watcher,
    /** `/readyz`: main.ts turns it to draining first on SIGTERM/SIGINT. */
    readiness,
    /** The home region's isolation canary (regions.all[i]'s is canaries[i]). */
    canary: canaries[0] as IsolationCanary,
    canaries,
    /** The home region's agent runtime. */
    runtime,
    /** Every region's agent runtime, by region name. */
    runtimes: new Map([...runtimes].map(([region, each]) => [region.name, each])),
    keyProvider,
    keyRotation,
    /** This replica's trusted-document registry (its cache and change feeds). */
    documents,
    /** This replica's subscriptions and the changes they follow. */
    live,
    /** With Redis: this replica's end of the fan-out, and its relay candidate for each region (in regions.all's order). */
    liveRedis: { fanOut: liveUpdates.fanOut, relays: liveUpdates.relays },
    /**
     * Serves GraphQL over WebSocket (graphql-ws, subscriptions only) on `http`'s upgrades of /graphql,
     * every policy of HTTP applied (src/request/graphql-ws.ts); `allowedOrigins`: browser origins
     * besides the gateway's own, and the sockets' idle time and per-tenant count. Close it after `live.stop()`.
     */
    serveGraphqlWs: (http: HttpServer, settings: GraphqlWsSettings = {}) =>
      serveGraphqlWs(http, {
        ...settings,
        yoga: server,
        auth: { regions, tokens, log: options.log },
        documents,
        mode: options.policy.mode,
        rateLimits,
        documentCost: { maxCost: options.policy.maxCost ?? DEFAULT_MAX_COST, defaultPageSize: DEFAULT_PAGE_SIZE },
        maxDocumentCharacters: options.policy.maxDocumentCharacters ?? DEFAULT_MAX_DOCUMENT_CHARACTERS,
        maxPayloadBytes: options.policy.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
        log: options.log,
        metrics,
      }),
    /** Agent memory over the agents' channels (MEMPUT, MEMGET, RENEW); benchmarks and tests call it in process. */
    memoryChannel,
    async close() {
      for (const each of canaries) each.stop();
      await liveUpdates.close();
      await keys.close();
      await Promise.all(jobs.map((job) => job.stop()));
      for (const each of runtimes.values()) await each.stop();
      await feed.close();
      documents.stop();
      await Promise.all(feeds.map((each) => each.stop()));
      await Promise.all(regions.all.map((region) => region.orm.close(true)));
    },
  };
}

type LogFor = (region: Region) => Logger;

/** Every region's ORM as the app role (the home region's first; its ORM may be a test's superuser, see TestingSwitches). */
async function openRegions(options: GatewayOptions): Promise<Regions> {
  const homeName = options.homeRegion ?? DEFAULT_REGION;
  const regionOptions: RegionOptions[] = [
    { name: homeName, appUrl: options.appUrl, backupDir: options.backups?.dir },
    ...(options.regions ?? []),
  ];
  return new Regions(
    await Promise.all(
      regionOptions.map(async (region): Promise<Region> => {
        const home = region.name === homeName;
        const orm = await openOrm(home ? (options.testing?.ormUrl ?? region.appUrl) : region.appUrl, ormModel, {
          poolSize: options.poolSize ?? 10,
          withoutAudit: options.testing?.withoutAudit,
          region: region.name,
          timeouts: options.databaseTimeouts,
        });
        const backupDir = options.backups && (region.backupDir ?? join(options.backups.dir, region.name));
        const engine = home ? options.runtime?.engine : options.runtime?.engineFor?.(region.name);
        return { name: region.name, appUrl: region.appUrl, orm, backupDir, engine };
      }),
    ),
    homeName,
  );
}

/**
 * One change feed per region's database (one LISTEN connection each): the freeze view, token
 * liveness, trusted documents and live updates all follow these.
 */
function changeFeeds(regions: Regions, logFor: LogFor): ChangeFeed[] {
  return regions.all.map((region) => new ChangeFeed({ appUrl: region.appUrl, log: logFor(region), region: region.name }));
}

/**
 * The freeze view and token liveness of every region's feed, and the access gate over them: a
 * replica that cannot vouch for any of them refuses tenant requests (fail closed), and remembers no
 * user token (TokenLiveness) while any of them cannot vouch for itself. `start` once the feeds are.
 */
function followPolicyFeeds(feeds: readonly ChangeFeed[], regions: Regions, logFor: LogFor, options: GatewayOptions) {
  const tokenLiveness = new TokenLiveness(() => watchers.every((each) => each.isCurrent()), options.tokenLiveness);
  const watchers = regions.all.map((region, i) => new TenantPolicyWatcher(feeds[i] as ChangeFeed, logFor(region), options.watcher));
  for (const each of feeds) tokenLiveness.follow(each);
  for (const each of watchers) each.follow();
  const watcher = new RegionalTenantPolicies(watchers);
  return {
    tokenLiveness,
    watcher,
    gate: new AccessGate(watcher, options.log),
    watchers,
    start: () => Promise.all(watchers.map((each) => each.start())),
    close: () => Promise.all(watchers.map((each) => each.stop())),
  };
}

/**
 * Subscriptions: every region's agent and task changes, the freeze view's policy changes, user
 * liveness. With Redis, the changes come through it: a relay candidate per region (started once the
 * feeds are, `startRelays`) and this replica's end of the fan-out.
 */
function startLiveUpdates(
  feeds: readonly ChangeFeed[],
  regions: Regions,
  watchers: readonly TenantPolicyWatcher[],
  gate: AccessGate,
  options: GatewayOptions,
) {
  const redis = options.policy.redis;
  const names = new LiveRedisNames(options.liveRedis?.instance ?? 'fleetgate');
  const fanOut = redis
    ? new RedisFanOut({
        redis,
        names,
        regions: regions.all.map((region) => region.name),
        log: options.log,
        staleAfterMs: options.liveRedis?.staleAfterMs,
        leaseMs: options.liveRedis?.leaseMs,
      })
    : undefined;
  const relays = redis
    ? regions.all.map(
        (region, i) =>
          new LiveRelay({
            feed: feeds[i] as ChangeFeed,
            redis,
            names,
            region: region.name,
            log: options.log,
            pollMs: options.liveRedis?.relayPollMs,
          }),
      )
    : [];
  const live = new LiveUpdates({
    feeds,
    gate,
    onPolicyChange: (listener) => {
      const stops = watchers.map((watcher) => watcher.onChange(listener));
      return () => {
        for (const stop of stops) stop();
      };
    },
    log: options.log,
    limits: options.live,
    fanOut,
  });
  live.follow();
  return {
    live,
    fanOut,
    relays,
    startRelays: () => {
      for (const each of relays) each.start();
    },
    async close() {
      live.stop();
      await Promise.all(relays.map((each) => each.stop()));
      await fanOut?.close();
    },
  };
}

/** The KEK provider and its rotation over every holder of wrapped data keys, in every region. */
function startKeys(regions: Regions, options: GatewayOptions) {
  const keyProvider = options.keyProvider ?? unconfiguredKeyProvider();
  const keyRotation = new KeyRotation({
    // In region-name order, whatever the configuration's order: replicas never hold these locks in a cycle.
    orms: [...regions.all].sort((a, b) => a.name.localeCompare(b.name)).map((region) => region.orm),
    provider: keyProvider,
    log: options.log,
    holders: regions.all.flatMap((region) => [
      credentialKeyHolder(region.orm, keyProvider),
      memoryKeyHolder(region.orm, keyProvider),
      memoryEscrowHolder(region.orm, keyProvider),
      sharingKeyHolder(region.orm, keyProvider),
      ...(region.backupDir ? [backupArchiveKeyHolder(region.backupDir, keyProvider)] : []),
    ]),
  });
  if (options.keyProvider) keyRotation.start(options.keyRewrapIntervalMs ?? 60_000);
  return { keyProvider, keyRotation, close: () => keyRotation.stop() };
}

/** Each region's agents run against its own database (jobs, reconciler, channels), where the region has an engine. */
async function startRuntimes(
  regions: Regions,
  logFor: LogFor,
  options: GatewayOptions,
  shared: Pick<AgentRuntimeOptions, 'startSecrets' | 'channelExtensions'> & { metrics: Metrics; allowList: ImageAllowList },
): Promise<Map<Region, AgentRuntime>> {
  const runtimes = new Map<Region, AgentRuntime>();
  for (const region of regions.all) {
    if (!options.runtime || !region.engine) continue;
    const home = region === regions.home;
    runtimes.set(
      region,
      await startAgentRuntime({
        ...options.runtime,
        ...shared,
        engine: region.engine,
        channelRoot: home ? options.runtime.channelRoot : join(options.runtime.channelRoot, region.name),
        orm: region.orm,
        appUrl: region.appUrl,
        log: logFor(region),
      }),
    );
  }
  return runtimes;
}

/** Every region has its own walls (its database's RLS and catalog): a canary each, locking the whole gateway down on any exposure. */
async function startCanaries(
  regions: Regions,
  logFor: LogFor,
  options: GatewayOptions,
  shared: Pick<ConstructorParameters<typeof IsolationCanary>[0], 'tokens' | 'gate' | 'metrics' | 'fetch'>,
): Promise<IsolationCanary[]> {
  const canaries = regions.all.map(
    (region) =>
      new IsolationCanary({
        ...shared,
        orm: region.orm,
        appUrl: region.appUrl,
        log: logFor(region),
        engine: options.runtime ? region.engine : undefined,
        replica: replicaNameOf(options.replicaName),
        history: options.canaryHistory,
      }),
  );
  if (!options.testing?.withoutCanary) for (const each of canaries) await each.start(options.canaryIntervalMs);
  return canaries;
}

/** Each region's periodic work: memory expiry, task history retention, tenant erasure. */
function startBackgroundJobs(regions: Regions, logFor: LogFor, options: GatewayOptions): PeriodicJob[] {
  return regions.all.flatMap((region) => {
    const log = logFor(region);
    const memoryMaintenance = memoryMaintenanceJob(region.orm, log);
    memoryMaintenance.start(options.memoryMaintenanceIntervalMs ?? 3_600_000);
    const taskRetention = taskHistoryRetentionJob(region.orm, log);
    taskRetention.start(options.taskRetentionIntervalMs ?? 3_600_000);
    const erasure = tenantErasureJob({
      orm: region.orm,
      region: region.name,
      engine: region.engine,
      backupDir: region.backupDir,
      auditKey: options.keyring.auditKey,
      log,
      testing: options.tenantDeletion?.testing,
    });
    erasure.start(options.tenantDeletion?.erasureIntervalMs ?? 15 * 60_000);
    return [memoryMaintenance, taskRetention, erasure];
  });
}
