import type { GraphQLError } from 'graphql';
import type { YogaInitialContext } from 'graphql-yoga';
import type { Keyring } from '../auth/keyring.ts';
import type { Principal } from '../auth/principal.ts';
import type { TokenLiveness } from '../auth/token-liveness.ts';
import type { TokenIssuer } from '../auth/tokens.ts';
import type { Region, Regions } from '../db/regions.ts';
import { forkForPrincipal, forkForRequest } from '../db/request-scope.ts';
import type { CredentialKeys } from '../modules/credentials/index.ts';
import type { BackupAccess } from '../modules/enterprise/index.ts';
import type { LiveUpdates } from '../modules/live/live-updates.ts';
import type { IssuerKeys } from '../modules/oidc/index.ts';
import type { AccessGate, AccessGrant } from '../modules/policy/access-gate.ts';
import type { CanaryRun } from '../modules/policy/canary-run.ts';
import type { CostLimitOptions } from '../modules/policy/use-cost-limit.ts';
import type { AgentRuntimeAccess } from '../modules/provisioning/runtime-access.ts';
import { DEFAULT_TENANT_DELETION, type TenantDeletionSettings } from '../modules/tenants/tenant-deletion-settings.ts';
import { unauthenticated } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import { principalOf } from './authenticate.ts';
import { requestIdOf } from './request-id.ts';
import type { RequestScope } from './scope.ts';

export interface Context extends YogaInitialContext, RequestContext {}

/** What the gateway adds to yoga's context for every request. */
export interface RequestContext extends RequestScope {
  tokens: TokenIssuer;
  /** What this replica remembers of user tokens the database found live (see TokenLiveness). */
  tokenLiveness: TokenLiveness;
  metrics: Metrics;
  /** The operator's image allow-list and the default task timeout. */
  agentRuntime: AgentRuntimeAccess;
  /** Signs audit reports and retention checkpoints; its public half is `auditSigningKey`. */
  auditKey: Keyring['auditKey'];
  /**
   * The request's region: its tenant's, home for anonymous and operator requests. Its ORM serves
   * work outside the request's transaction (denied attempts are recorded after its rollback); its
   * engine runs the region's agents when this replica runs them.
   */
  region: Region;
  /** Every region's database: operators act on a tenant in its own region (see inTenantRegion). */
  regions: Regions;
  /**
   * The key provider (KEK outside the database) and its rotation: it wraps the data keys of agent
   * credentials and agent memory (envelope encryption).
   */
  keys: CredentialKeys;
  /** Tenant backups (operators): the key provider and archive directory; absent when none is configured. */
  backups?: BackupAccess;
  /** Who may sign up by themselves, and how often per address. */
  signUp: SignUpPolicy;
  /** Verifies ID tokens of the issuers tenants trust (OpenID Connect sign-in). */
  oidc: IssuerKeys;
  /** The client's network address as the socket saw it ('unknown' in process): the sign-up limit's key. */
  clientAddress: string;
  /** What the access gate allowed: 'deletion-grace' narrows the request to the fields of useDeletionGrace. */
  access: AccessGrant;
  /** The grace period a tenant deletion starts (see requestTenantDeletion). */
  tenantDeletion: TenantDeletionSettings;
  /** The cost limit published trusted documents are checked against: the one every request gets. */
  documentCost: CostLimitOptions;
  /** This replica's last isolation canary run (see AccessGate.recordCanaryRun); undefined before the first. */
  lastCanaryRun(): CanaryRun | undefined;
  /** This replica's live updates, where subscriptions open their streams (set by useLiveUpdates). */
  live?: LiveUpdates;
}

/**
 * Self-service sign-up: `open` to anyone, `invite` only with an operator's invitation for the owner's
 * email, `closed` to no one (operators onboard tenants). Every mode counts sign-ups per address.
 */
export interface SignUpPolicy {
  mode: 'open' | 'invite' | 'closed';
  /** Undefined when admitted; otherwise the RATE_LIMITED error to answer. */
  admit(clientAddress: string): Promise<GraphQLError | undefined>;
}

/**
 * Switches for tests and benchmarks, in one option so that the code paths read them in one place and
 * production cannot set them: main.ts builds the gateway from the configuration, which has none of
 * them. Each removes a safeguard, to prove the others hold without it or to measure its cost.
 */
export interface TestingSwitches {
  /** Wall-removal tests: the home region's ORM connects here instead (e.g. a superuser, to remove the RLS wall). */
  ormUrl?: string;
  /** Wall-removal tests: the schema without scope-auth (wall 1), to show the other walls hold alone. */
  disableScopeAuth?: boolean;
  /** Benchmarks: no request policies (trusted documents, limits, rate limits, CSRF), to measure their cost. */
  withoutPolicies?: boolean;
  /**
   * Benchmarks (bench/sessions.ts): users' requests skip the token liveness check (enter_user_request,
   * enter_user_read) and get the same settings without it, to measure its cost.
   */
  withoutSessionCheck?: boolean;
  /** Benchmarks (bench/audit-bench.ts): audit events are staged but never written, to measure their cost. */
  withoutAudit?: boolean;
  /** Tests and benchmarks: no isolation canary (it creates two tenants of its own). */
  withoutCanary?: boolean;
}

export interface ContextDeps {
  testing?: TestingSwitches;
  /** The database of each region; a request runs in its tenant's. */
  regions: Regions;
  tokens: TokenIssuer;
  tokenLiveness: TokenLiveness;
  /** The keyring's audit signing key (reports, retention checkpoints). */
  auditKey: Keyring['auditKey'];
  log: Logger;
  gate: AccessGate;
  metrics: Metrics;
  agentRuntime: AgentRuntimeAccess;
  /** The key provider and KEK rotation behind agent credentials and memory. */
  keys: CredentialKeys;
  /** Tenant backups (operators); see BackupAccess. */
  backups?: BackupAccess;
  signUp: SignUpPolicy;
  oidc: IssuerKeys;
  /** Tenant deletion's grace period; default DEFAULT_TENANT_DELETION. */
  tenantDeletion?: TenantDeletionSettings;
  /** See RequestContext.documentCost. */
  documentCost: CostLimitOptions;
}

export function createContextFactory(deps: ContextDeps) {
  return async (initial: YogaInitialContext): Promise<RequestContext> => {
    const requestId = requestIdOf(initial.request);
    const principal = await principalOf(initial.request, deps);
    const access = deps.gate.check(principal);
    const region = await regionOf(deps.regions, principal);
    const log = deps.log.child({
      requestId,
      principal: principal.kind,
      tenantId: 'tenantId' in principal ? principal.tenantId : undefined,
    });
    return {
      principal,
      em:
        deps.testing?.withoutSessionCheck && principal.kind === 'user'
          ? forkForPrincipal(region.orm, principal)
          : forkForRequest(region.orm, principal),
      log,
      requestId,
      tokens: deps.tokens,
      tokenLiveness: deps.tokenLiveness,
      metrics: deps.metrics,
      agentRuntime: deps.agentRuntime,
      auditKey: deps.auditKey,
      region,
      regions: deps.regions,
      keys: deps.keys,
      backups: deps.backups,
      signUp: deps.signUp,
      oidc: deps.oidc,
      clientAddress: clientAddressOf(initial),
      access,
      tenantDeletion: deps.tenantDeletion ?? DEFAULT_TENANT_DELETION,
      documentCost: deps.documentCost,
      lastCanaryRun: () => deps.gate.lastCanaryRun,
    };
  };
}

/** The peer address of the node request behind the fetch request, when there is one (never a header the client sets). */
function clientAddressOf(initial: YogaInitialContext): string {
  const req = (initial as { req?: { socket?: { remoteAddress?: string } } }).req;
  return req?.socket?.remoteAddress ?? 'unknown';
}

/** A tenant principal whose tenant no region holds (one deleted since its token was minted) is refused like a bad token. */
async function regionOf(regions: Regions, principal: Principal): Promise<Region> {
  const region = await regions.of(principal);
  if (!region) throw unauthenticated();
  return region;
}
