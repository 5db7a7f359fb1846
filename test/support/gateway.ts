import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultOf, TypedDocumentNode, VariablesOf } from '@graphql-typed-document-node/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { print } from 'graphql';
import { openKeyring } from '../../src/auth/keyring.ts';
import { appUrlFor } from '../../src/db/database-urls.ts';
import { startGateway as startFleetgate } from '../../src/gateway.ts';
import { type KeyProvider, LocalKeyProvider } from '../../src/keys/index.ts';
import { IsolationCanary } from '../../src/modules/policy/index.ts';
import type { AgentRuntimeOptions } from '../../src/modules/provisioning/agent-runtime.ts';
import { DockerRuntime } from '../../src/modules/provisioning/docker-runtime.ts';
import type { AllowedImage } from '../../src/modules/provisioning/image-allow-list.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { capturedLogger } from './captured-logger.ts';
import { createRegionDatabase, createTestDatabase, urlForDatabase } from './database.ts';
import { FreezeTenant, UnfreezeTenant } from './operations.ts';
import { createSeed } from './seed.ts';

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: string[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** Runs one typed document through the gateway, optionally with a bearer token. */
// biome-ignore lint/suspicious/noExplicitAny: any document type; its result and variables are inferred.
export type Execute = <D extends TypedDocumentNode<any, any>>(
  document: D,
  variables?: VariablesOf<D>,
  auth?: { token?: string; headers?: Record<string, string> },
) => Promise<GraphQLResponse<ResultOf<D>>>;

export interface GatewayOptions {
  /** Wall removal: build the schema without resolver scopes. */
  disableScopeAuth?: boolean;
  /** Wall removal: the ORM connects with this URL instead of the app role (e.g. a superuser, bypassing RLS). */
  ormUrl?: string;
  poolSize?: number;
  /** Statement, lock, idle-in-transaction and pool-wait limits of the app role's pool (main.ts sets them from config). */
  databaseTimeouts?: Parameters<typeof startFleetgate>[0]['databaseTimeouts'];
  /** Policy overrides (production mode, low rate limits, Redis). */
  policy?: Partial<ServerPolicy>;
  /** Run the isolation canary at start (it creates two tenants of its own). */
  canary?: boolean;
  /** This replica's name in the canary history (default the host's name). */
  replicaName?: string;
  /** The canary history's retention (default 30 days, 50,000 runs per replica). */
  canaryHistory?: Parameters<typeof startFleetgate>[0]['canaryHistory'];
  withoutPolicies?: boolean;
  /** Run agents on the real Docker engine; containers are labelled with this gateway's database and removed on close. */
  runtime?:
    | boolean
    | {
        socketPath?: string;
        manualJobs?: boolean;
        restartPolicy?: 'restart' | 'fail';
        /** The engine's name for gVisor (default runsc); a name the engine lacks makes an engine without GVISOR. */
        gvisorRuntime?: string;
        /** Crash-loop and task-timeout settings, shortened by the tests that exercise them. */
        tuning?: Partial<Pick<AgentRuntimeOptions, 'crashLoop' | 'taskTimeoutSeconds' | 'taskSweepMs'>>;
        /** The egress proxy's settings (test upstreams live on private addresses: allowPrivateCidrs, resolve). */
        egress?: AgentRuntimeOptions['egress'];
      };
  agentImages?: AllowedImage[];
  /** The KEK behind credentials and agent memory; default: a local keyring in the test's keyring directory. */
  keyProvider?: KeyProvider;
  /** Period of the background rewrap pass after a KEK rotation (default 0: at start and when poked only). */
  keyRewrapIntervalMs?: number;
  /** Tenant backups: key provider and archive directory. */
  backups?: Parameters<typeof startFleetgate>[0]['backups'];
  /** Regions beside the home one (eu-1): a database each on the same server, migrated as that region. */
  regions?: string[];
  /** OpenID Connect: least time between two key set fetches of an issuer (key rotation tests set 0). */
  oidcJwksCooldownMs?: number;
  /** Tenants with their own `tenant` label in the operation metrics. */
  metricsTenantLabels?: string[];
  /** Tenant deletion's grace period, erasure job period and test hooks. */
  tenantDeletion?: Parameters<typeof startFleetgate>[0]['tenantDeletion'];
  /** A database made by the test (on a private cluster it restarts); default: a clone of the shared server's template. */
  database?: TestDatabase;
  /** Live updates through Redis (with `policy.redis`): the deployment's name there and the timings. */
  liveRedis?: Parameters<typeof startFleetgate>[0]['liveRedis'];
}

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

type ServerPolicy = Parameters<typeof startFleetgate>[0]['policy'];

/**
 * A gateway in-process against its own real database. Logs are captured at trace level so tests
 * can grep them for secrets. `execute` goes through yoga's full HTTP handling (`yoga.fetch`).
 */
/** A fresh local key-encryption keyring in a directory of its own (a gateway whose KEK was lost). */
export async function freshLocalKeyProvider(): Promise<LocalKeyProvider> {
  return LocalKeyProvider.open(await mkdtemp(join(tmpdir(), 'fleetgate-kek-')), createLogger({ level: 'silent' }));
}

export async function startGateway(options: GatewayOptions = {}) {
  const database = options.database ?? (await createTestDatabase());
  const keyringDir = await mkdtemp(join(tmpdir(), 'fleetgate-keyring-'));
  const keyring = await openKeyring(keyringDir);
  const { log, text: logText } = capturedLogger();
  const appUrl = appUrlFor(database.adminUrl);
  const keyProvider = options.keyProvider ?? (await LocalKeyProvider.open(keyringDir, log));
  const runtimeOptions = options.runtime === true ? {} : options.runtime || undefined;
  const channelRoot = await mkdtemp(join(tmpdir(), 'fleetgate-channels-'));
  const engine = runtimeOptions
    ? new DockerRuntime({
        instance: database.name,
        log,
        socketPath: runtimeOptions.socketPath,
        gvisorRuntime: runtimeOptions.gvisorRuntime,
      })
    : undefined;
  // Another region's agents: their own instance label, as main.ts gives them.
  const regionEngines = new Map<string, DockerRuntime>();
  const engineFor = (region: string) => {
    const regionEngine = new DockerRuntime({ instance: `${database.name}.${region}`, log, socketPath: runtimeOptions?.socketPath });
    regionEngines.set(region, regionEngine);
    return regionEngine;
  };
  const regionDatabases = await Promise.all(
    (options.regions ?? []).map(async (name) => ({ name, database: await createRegionDatabase(name) })),
  );
  const fleetgate = await startFleetgate({
    appUrl,
    regions: regionDatabases.map(({ name, database: db }) => ({ name, appUrl: appUrlFor(db.adminUrl) })),
    keyring,
    log,
    userTokenTtl: '1h',
    canaryIntervalMs: 0,
    replicaName: options.replicaName,
    canaryHistory: options.canaryHistory,
    testing: {
      withoutCanary: !options.canary,
      ormUrl: options.ormUrl ? urlForDatabase(options.ormUrl, database.name) : undefined,
      disableScopeAuth: options.disableScopeAuth,
      withoutPolicies: options.withoutPolicies,
    },
    poolSize: options.poolSize ?? 5,
    databaseTimeouts: options.databaseTimeouts,
    watcher: { refreshMs: 1_000, staleAfterMs: 5_000 },
    policy: {
      mode: 'development',
      tenantRateLimitPerMinute: 100_000,
      apiKeyRateLimitPerMinute: 100_000,
      signUp: 'open',
      signUpPerIpPerHour: 100_000,
      ...options.policy,
    },
    agentImages: options.agentImages,
    keyProvider,
    keyRewrapIntervalMs: options.keyRewrapIntervalMs ?? 0,
    oidcJwksCooldownMs: options.oidcJwksCooldownMs,
    backups: options.backups,
    tenantDeletion: options.tenantDeletion,
    metricsTenantLabels: options.metricsTenantLabels,
    // Test files share one Redis: each gateway's live updates under a name of its own unless told.
    liveRedis: { instance: database.name, ...options.liveRedis },
    runtime:
      engine && runtimeOptions
        ? {
            engine,
            engineFor,
            channelRoot: `${channelRoot}/agents`,
            reconcileIntervalMs: 0,
            restartPolicy: runtimeOptions.restartPolicy,
            manualJobs: runtimeOptions.manualJobs,
            ...(runtimeOptions.egress !== undefined ? { egress: runtimeOptions.egress } : {}),
            baseBackoffMs: 200,
            maxBackoffMs: 1_000,
            ...runtimeOptions.tuning,
          }
        : undefined,
  });
  const { yoga, orm, tokens } = fleetgate;

  const execute: Execute = async (document, variables, auth) => {
    const response = await yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth?.token ? { authorization: `Bearer ${auth.token}` } : {}),
        ...auth?.headers,
      },
      // Documents of schema/operations/ carry their manifest hash: send them as trusted documents.
      body: JSON.stringify(hashOf(document) ? { documentId: hashOf(document), variables } : { query: print(document), variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  };

  const operatorToken = async () => (await tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();

  const gateway = {
    yoga,
    orm: orm as MikroORM,
    tokens,
    fleetgate,
    keyring,
    keyringDir,
    keyProvider,
    database,
    /** The databases of options.regions, by region name. */
    regionDatabases: new Map(regionDatabases.map(({ name, database: db }) => [name, db])),
    appUrl,
    log,
    logs: logText,
    execute,
    seed: createSeed(execute),
    /** An operator: a fresh token, and freeze and unfreeze of a tenant (its global id) through GraphQL, failing the test on an error. */
    operator: {
      token: operatorToken,
      async freeze(tenantId: string, reason = 'test') {
        return expectNoErrors(await execute(FreezeTenant, { id: tenantId, reason }, { token: await operatorToken() })).freezeTenant;
      },
      async unfreeze(tenantId: string) {
        return expectNoErrors(await execute(UnfreezeTenant, { id: tenantId }, { token: await operatorToken() })).unfreezeTenant;
      },
    },
    engine,
    /** The engines of options.regions' agents, by region name (with `runtime` only). */
    regionEngines,
    async close() {
      await fleetgate.close();
      // Nothing outlives the test file: every container and workspace of this gateway's instance label goes.
      for (const each of engine && !runtimeOptions?.socketPath ? [engine, ...regionEngines.values()] : []) {
        for (const container of await each.list()) await each.remove(container.agentId);
        for (const network of await each.listNetworks()) await each.removeNetwork(network.tenantId);
      }
      await database.drop();
      for (const region of regionDatabases) await region.database.drop();
      await rm(keyringDir, { recursive: true, force: true });
      await rm(channelRoot, { recursive: true, force: true });
    },
  };
  return gateway;
}

export type Gateway = Awaited<ReturnType<typeof startGateway>>;

type ReplicaOptions = Parameters<typeof startFleetgate>[0];

/**
 * Another replica of `gw` in this process: the same database, keyring and log, no canary, a freeze
 * watcher that reloads every second, development mode and limits no test reaches unless `overrides`
 * say otherwise (`policy` replaces the default policy whole). Close it in the test.
 */
export function startSecondReplica(
  gw: Gateway,
  overrides: Partial<Omit<ReplicaOptions, 'appUrl' | 'keyring'>> = {},
): ReturnType<typeof startFleetgate> {
  return startFleetgate({
    appUrl: gw.appUrl,
    keyring: gw.keyring,
    log: gw.log,
    userTokenTtl: '1h',
    canaryIntervalMs: 0,
    testing: { withoutCanary: true },
    watcher: { refreshMs: 1_000, staleAfterMs: 5_000 },
    policy: { mode: 'development', tenantRateLimitPerMinute: 100_000, apiKeyRateLimitPerMinute: 100_000 },
    ...overrides,
  });
}

/** A second replica's isolation canary on `gw`'s database (what another gateway process would run), probing through `gw`'s API unless `overrides` say otherwise. */
export function replicaCanary(gw: Gateway, replica: string, overrides: Partial<ConstructorParameters<typeof IsolationCanary>[0]> = {}) {
  const { fleetgate } = gw;
  return new IsolationCanary({
    orm: gw.orm,
    appUrl: gw.appUrl,
    tokens: gw.tokens,
    gate: fleetgate.gate,
    metrics: fleetgate.metrics,
    log: gw.log,
    fetch: (url, init) => Promise.resolve(fleetgate.yoga.fetch(url, init)),
    replica,
    ...overrides,
  });
}

/** Fails with the response's errors in the message, so a failing test says why. */
export function expectNoErrors<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) {
    throw new Error(`expected no errors, got ${response.status}: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The error codes of a response, in order. */
export function errorCodes(response: GraphQLResponse<unknown>): (string | undefined)[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}

function hashOf(document: object): string | undefined {
  return (document as { __meta__?: { hash?: string } }).__meta__?.hash;
}
