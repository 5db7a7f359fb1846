import { createServer as createHttpServer } from 'node:http';
import { Redis } from 'ioredis';
import { openKeyring } from './auth/keyring.ts';
import { loadConfig } from './config.ts';
import { appUrlFor } from './db/database-urls.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { migrate, setAppRolePassword } from './db/migrate.ts';
import { startGateway } from './gateway.ts';
import { openKeyProvider, VaultKeyProvider } from './keys/index.ts';
import { runAuditRetention } from './modules/audit/index.ts';
import { DEFAULT_CRASH_LOOP, DockerRuntime } from './modules/provisioning/index.ts';
import { drainHttpServer } from './shared/http-drain.ts';
import { createLogger, type Logger } from './shared/logger.ts';
import { startMetricsListener } from './shared/metrics-listener.ts';
import { PeriodicJob } from './shared/periodic-job.ts';

/** What start-up has started, each with its close; shutdown (or a failed start) closes them in reverse. */
const started: { name: string; close: () => Promise<unknown> | unknown }[] = [];

/**
 * Start-up: configuration, keyring, database (embedded when DATABASE_URL is unset), migrations as
 * the owner, then the gateway as the app role, on loopback by default, and the metrics listener.
 */
async function main() {
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL });
  // From the first moment: a signal during start-up still closes what has started (an embedded Postgres).
  let serving: { drain(): void } | undefined;
  onSignals(log, async (signal) => {
    log.info({ signal, delayMs: config.SHUTDOWN_DELAY_MS, drainMs: config.SHUTDOWN_DRAIN_MS }, 'shutting down');
    // Unready first, while still serving: load balancers stop sending before the listener closes.
    serving?.drain();
    if (serving && config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
    await closeStarted(log);
    log.info({ signal }, 'stopped');
    process.exit(0);
  });
  const keyring = await openKeyring(config.keyringDir);
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.pgDataDir, port: config.EMBEDDED_PG_PORT, password: keyring.embeddedDbPassword, log });
  if (embedded) started.push({ name: 'embedded postgres', close: () => embedded.stop() });
  const adminUrl = config.DATABASE_URL ?? embedded?.adminUrl ?? '';
  // Every region's database is migrated as that region before anything serves: a crossed URL stops here.
  const prepare = (region: string, regionAdminUrl: string, regionAppUrl: string | undefined) =>
    prepareRegionDatabase({ region, adminUrl: regionAdminUrl, appUrl: regionAppUrl, password: keyring.embeddedDbPassword.reveal(), log });
  const appUrl = await prepare(config.HOME_REGION, adminUrl, config.APP_DATABASE_URL);
  const regions = [];
  for (const [name, region] of Object.entries(config.REGIONS)) {
    regions.push({ name, appUrl: await prepare(name, region.databaseUrl, region.appDatabaseUrl), backupDir: region.backupDir });
  }
  const keyProvider = await openKeyProvider(config, log);
  if (keyProvider instanceof VaultKeyProvider) started.push({ name: 'vault session', close: () => keyProvider.close() });
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 }) : undefined;
  if (redis) started.push({ name: 'redis', close: () => redis.disconnect() });
  const gateway = await startGateway({
    appUrl,
    homeRegion: config.HOME_REGION,
    regions,
    keyring,
    log,
    userTokenTtl: config.USER_TOKEN_TTL,
    canaryIntervalMs: config.CANARY_INTERVAL_SECONDS * 1000,
    replicaName: config.REPLICA_NAME,
    databaseTimeouts: {
      statementMs: config.DB_STATEMENT_TIMEOUT_MS,
      lockMs: config.DB_LOCK_TIMEOUT_MS,
      idleInTransactionMs: config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      poolAcquireMs: config.DB_POOL_TIMEOUT_MS,
    },
    policy: {
      mode: config.FLEETGATE_MODE,
      tenantRateLimitPerMinute: config.RATE_LIMIT_TENANT_PER_MINUTE,
      apiKeyRateLimitPerMinute: config.RATE_LIMIT_API_KEY_PER_MINUTE,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      signUp: config.SIGN_UP,
      signUpPerIpPerHour: config.SIGN_UP_PER_IP_PER_HOUR,
      redis,
    },
    agentImages: config.AGENT_IMAGES,
    live: {
      perTenant: config.LIVE_SUBSCRIPTIONS_PER_TENANT,
      idleMs: config.LIVE_IDLE_SECONDS * 1000,
      maxLifetimeMs: config.LIVE_MAX_LIFETIME_SECONDS * 1000,
    },
    // With REDIS_URL: live updates through Redis, under this deployment's name.
    liveRedis: { instance: config.FLEETGATE_INSTANCE },
    metricsEnabled: config.METRICS_ENABLED === 'true',
    metricsTenantLabels: config.METRICS_TENANT_LABELS,
    keyProvider,
    keyRewrapIntervalMs: config.KEY_REWRAP_INTERVAL_SECONDS * 1000,
    backups: { dir: config.backupDir },
    tenantDeletion: { graceSeconds: config.TENANT_DELETION_GRACE_SECONDS },
    runtime:
      config.AGENT_RUNTIME === 'none'
        ? undefined
        : {
            engine: new DockerRuntime({ instance: config.FLEETGATE_INSTANCE, log }),
            // Another region's containers carry their own instance label: each region's reconciler sees only its own.
            engineFor: (region) => new DockerRuntime({ instance: `${config.FLEETGATE_INSTANCE}.${region}`, log: log.child({ region }) }),
            channelRoot: config.channelDir,
            restartPolicy: config.AGENT_RESTART_POLICY,
            crashLoop: {
              ...DEFAULT_CRASH_LOOP,
              maxRestarts: config.AGENT_MAX_RESTARTS,
              windowSeconds: config.AGENT_RESTART_WINDOW_SECONDS,
            },
            taskTimeoutSeconds: config.TASK_TIMEOUT_SECONDS,
            reconcileIntervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
            workers: config.PROVISION_WORKERS,
            egress: {
              port: config.EGRESS_PROXY_PORT,
              allowPrivateCidrs: config.EGRESS_ALLOW_PRIVATE_CIDRS,
              burstThreshold: config.EGRESS_DENIAL_BURST,
            },
          },
  });
  started.push({ name: 'gateway', close: () => gateway.close() });
  // Audit retention: at start and every 6 hours; each tenant's old events go behind a signed checkpoint, in its region.
  const auditRetention = new PeriodicJob('audit retention', log, async () => {
    for (const region of gateway.regions.all) await runAuditRetention({ orm: region.orm, auditKey: keyring.auditKey, log });
  });
  auditRetention.start(6 * 60 * 60 * 1000);
  started.push({ name: 'audit retention', close: () => auditRetention.stop() }); // before the ORM closes under a run in progress
  if (config.METRICS_ENABLED === 'true') {
    const metrics = await startMetricsListener({
      registry: gateway.metrics.registry,
      host: config.METRICS_HOST,
      port: config.METRICS_PORT,
      log,
    });
    started.push({ name: 'metrics listener', close: () => metrics.close() });
  }
  const http = createHttpServer(gateway.yoga);
  const graphqlWs = gateway.serveGraphqlWs(http, { allowedOrigins: config.GRAPHQL_WS_ALLOWED_ORIGINS });
  await new Promise<void>((resolve) => http.listen(config.PORT, config.HOST, resolve));
  // Stop accepting, then let the requests in flight finish, up to the drain deadline.
  started.push({
    name: 'http',
    close: async () => {
      // Live updates end first (a final SERVICE_UNAVAILABLE: subscribe again elsewhere), or their streams would hold the drain to its deadline.
      gateway.live.stop();
      await graphqlWs.close(); // after their final error and `complete`, the sockets close (1001)
      const { drained } = await drainHttpServer(http, config.SHUTDOWN_DRAIN_MS);
      if (!drained) log.warn({ drainMs: config.SHUTDOWN_DRAIN_MS }, 'drain deadline passed: closed the connections still open');
    },
  });
  const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${config.PORT}/graphql`;
  log.info({ url, database: embedded ? 'embedded' : 'external', mode: config.FLEETGATE_MODE }, 'fleetgate listening');

  if (keyring.created) {
    // Printed to the terminal once, on the start that created the keyring; never logged.
    const operatorToken = await gateway.tokens.issue({ kind: 'operator', operatorId: 'operator' }, '30d');
    process.stdout.write(`\nFleetgate is up: ${url}\nOperator token (shown once, valid 30 days):\n  ${operatorToken.reveal()}\n\n`);
  } else {
    process.stdout.write(`\nFleetgate is up: ${url}\nNeed an operator token? npm run operator-token\n\n`);
  }

  serving = gateway.readiness;
}

/**
 * Migrates one region's database as that region and answers the app role's URL to it: the given
 * one, or the administrative URL with the app role, whose password is then set to the keyring's.
 */
async function prepareRegionDatabase(options: {
  region: string;
  adminUrl: string;
  appUrl: string | undefined;
  password: string;
  log: ReturnType<typeof createLogger>;
}): Promise<string> {
  await migrate(options.adminUrl, options.log.child({ region: options.region }), { region: options.region });
  if (options.appUrl) return options.appUrl;
  await setAppRolePassword(options.adminUrl, options.password);
  return appUrlFor(options.adminUrl, options.password);
}

/** Closes what was started, newest first; one failing close is logged and the rest still run. */
async function closeStarted(log?: Logger): Promise<void> {
  for (const each of started.splice(0).reverse()) {
    try {
      await each.close();
    } catch (error) {
      log?.error({ err: error, starter: each.name }, 'close failed');
    }
  }
}

/**
 * The first SIGTERM, SIGINT or SIGHUP shuts down gracefully; another one a second or more later,
 * while that runs, stops at once (exit 1). One sooner is the same request arriving twice: Ctrl-C
 * reaches both npm and the gateway, and npm forwards what it receives to its child.
 */
function onSignals(log: Logger, shutdown: (signal: string) => Promise<void>): void {
  let stoppingSince: number | undefined;
  const handle = (signal: string) => {
    if (stoppingSince !== undefined) {
      if (Date.now() - stoppingSince < 1_000) return;
      log.warn({ signal }, 'second signal: exiting without draining');
      process.exit(1);
    }
    stoppingSince = Date.now();
    shutdown(signal).catch((error: unknown) => {
      log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGHUP', () => handle('SIGHUP')); // the terminal closed: still stop the embedded Postgres
}

main().catch(async (error: unknown) => {
  process.stderr.write(`fleetgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  await closeStarted(); // an embedded Postgres started before the failure stops with it
  process.exit(1);
});
