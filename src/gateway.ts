import type { Redis } from 'ioredis';
import type { Keyring } from './auth/keyring.ts';
import { TokenIssuer } from './auth/tokens.ts';
import { openOrm } from './db/orm.ts';
import { AccessGate } from './modules/policy/access-gate.ts';
import { IsolationCanary } from './modules/policy/isolation-canary.ts';
import { type AgentRuntime, type AgentRuntimeOptions, startAgentRuntime } from './modules/provisioning/agent-runtime.ts';
import { type AllowedImage, ImageAllowList } from './modules/provisioning/image-allow-list.ts';
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
  /** Tests and benchmarks: skip the canary (it creates two tenants). */
  withoutCanary?: boolean;
  /** The operator's allow-list of agent images (the reference image is always on it). */
  agentImages?: AllowedImage[];
  /** Run agents: the container engine and its settings. Absent: agents are recorded and their jobs wait. */
  runtime?: Omit<AgentRuntimeOptions, 'orm' | 'appUrl' | 'log' | 'metrics' | 'allowList'>;
}

/**
 * Everything one gateway replica runs, wired once: the ORM as the app role, the tenant policy
 * feed, the access gate, the GraphQL server and the isolation canary. main.ts and the tests both
 * start the gateway through here, so what is tested is what runs.
 */
export async function startGateway(options: GatewayOptions) {
  const orm = await openOrm(options.ormUrl ?? options.appUrl, { poolSize: options.poolSize ?? 10 });
  const tokens = new TokenIssuer(options.keyring, options.userTokenTtl);
  const metrics = new Metrics();
  const watcher = new TenantPolicyWatcher(options.appUrl, options.log, options.watcher);
  await watcher.start();
  const gate = new AccessGate(watcher, options.log);
  const allowList = new ImageAllowList(options.agentImages);
  const runtime: AgentRuntime | undefined = options.runtime
    ? await startAgentRuntime({ ...options.runtime, orm, appUrl: options.appUrl, log: options.log, metrics, allowList })
    : undefined;
  const yoga = createServer({
    orm,
    tokens,
    auditKey: options.keyring.auditKey,
    log: options.log,
    gate,
    metrics,
    policy: options.policy,
    agentRuntime: { allowList, engine: runtime?.engine },
    disableScopeAuth: options.disableScopeAuth,
    withoutPolicies: options.withoutPolicies,
  });
  const canary = new IsolationCanary({
    orm,
    appUrl: options.appUrl,
    tokens,
    gate,
    metrics,
    log: options.log,
    fetch: (url, init) => Promise.resolve(yoga.fetch(url, init)),
  });
  if (!options.withoutCanary) await canary.start(options.canaryIntervalMs);
  return {
    yoga,
    orm,
    tokens,
    metrics,
    gate,
    watcher,
    canary,
    runtime,
    async close() {
      canary.stop();
      await runtime?.stop();
      await watcher.stop();
      await orm.close(true);
    },
  };
}
