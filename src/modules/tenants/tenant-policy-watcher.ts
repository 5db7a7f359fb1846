import type { Plugin } from 'graphql-yoga';
import type { ChangeFeed } from '../../db/change-feed.ts';
import type { Logger } from '../../shared/logger.ts';

/** What a replica must know about a tenant on every request. Tenants absent from the map are ACTIVE with default limits. */
export interface TenantPolicy {
  /** Any status but ACTIVE: refused (see AccessGate.check for the one exception, an owner during a deletion's grace period). */
  frozen: boolean;
  /** Set when the status is a deletion's: PENDING in the grace period, DELETED once erased. */
  deletion?: 'PENDING' | 'DELETED';
  rateLimitPerMinute: number | null;
  /** The operator's reason while frozen: the tenant's own principals read it in the TENANT_FROZEN refusal. */
  frozenReason?: string;
}

/** What the access gate and the rate limiter ask about tenants (one watcher, or every region's). */
export interface TenantPolicies {
  /** Whether this replica can vouch for every tenant's policy now. */
  isCurrent(): boolean;
  /** The tenant's policy, or 'unknown' when this replica cannot currently vouch for it. */
  policyOf(tenantId: string): TenantPolicy | 'unknown';
  /**
   * A change this replica has just committed (an operator's freeze, unfreeze or limit), in force
   * here at once rather than when its notification comes back through the feed.
   */
  applyCommitted(tenantId: string, policy: TenantPolicy, region?: string): void;
}

export interface TenantPolicyWatcherOptions {
  /** Full reload period; also the heartbeat proving the feed is alive. */
  refreshMs?: number;
  /** After this long without a successful load or a live LISTEN, the state is unknown: fail closed. */
  staleAfterMs?: number;
}

/** A tenant's policy moved on this replica (a notification, a reload, or a change committed here). */
export type PolicyChangeListener = (tenantId: string, policy: TenantPolicy) => void;

/** A tenant absent from the map: ACTIVE with the default limits. Shared and frozen, never mutated. */
const DEFAULT_POLICY: TenantPolicy = Object.freeze({ frozen: false, rateLimitPerMinute: null });

/** notify_tenant_policy(): a tenant's id whose status or limit changed. */
export const TENANT_POLICY_CHANNEL = 'fleetgate_tenant_policy';
const POLICY_QUERY = `select id, status, rate_limit_per_minute, frozen_reason from tenants
  where (status <> 'ACTIVE' or rate_limit_per_minute is not null)`;
const OPERATOR = { 'app.operator': 'on' };

/**
 * Keeps this replica's view of frozen tenants and per-tenant limits current: the region's change
 * feed (src/db/change-feed.ts) brings every change (a freeze on any replica reaches every other
 * within milliseconds) and everything is reloaded periodically. When it cannot vouch for its view —
 * the feed is down or the last load is too old — it says so, and the gateway refuses.
 *
 * It reads tenant metadata the way operators do (`app.operator`, transaction-local): the tenants
 * table only, never a row inside a tenant.
 */
export class TenantPolicyWatcher implements TenantPolicies {
  readonly #feed: ChangeFeed;
  readonly #log: Logger;
  readonly #refreshMs: number;
  readonly #staleAfterMs: number;
  readonly region: string | undefined;
  readonly #listeners = new Set<PolicyChangeListener>();
  readonly #unsubscribe: (() => void)[] = [];
  #policies = new Map<string, TenantPolicy>();
  #loadedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Counts changes applied from this replica's own commits (applyCommitted). */
  #generation = 0;
  /**
   * Those changes, by tenant, with the generation they were applied at: a load that began before
   * a change was applied may have read the row from before its commit, so it must not undo it.
   */
  #committedHere = new Map<string, { generation: number; policy: TenantPolicy }>();

  constructor(feed: ChangeFeed, log: Logger, options: TenantPolicyWatcherOptions = {}) {
    this.#feed = feed;
    this.#log = log.child({ component: 'tenant-policy-watcher' });
    this.#refreshMs = options.refreshMs ?? 5_000;
    this.#staleAfterMs = options.staleAfterMs ?? 15_000;
    this.region = feed.region;
  }

  /** Subscribes to the feed's tenant policy channel and resets; call before the feed starts, so no change goes unheard. */
  follow(): void {
    this.#unsubscribe.push(
      this.#feed.subscribe(TENANT_POLICY_CHANNEL, (tenantId) => void this.#reloadTenant(tenantId)),
      this.#feed.onReset((listening) => {
        if (!listening) this.#log.error('tenant policy feed lost; refusing tenant requests until it is back');
        // Back: load everything again (at the first start, `start` does).
        else if (this.#timer) void this.#refresh();
      }),
    );
  }

  /** Loads the view once the feed is started, and reloads it every `refreshMs`. */
  async start(): Promise<void> {
    await this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /** Calls `listener` whenever a tenant's policy on this replica differs from the one before. */
  onChange(listener: PolicyChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Whether this replica can vouch for its view: the feed is live and the last full load is recent. */
  isCurrent(): boolean {
    return this.#feed.listening && Date.now() - this.#loadedAt <= this.#staleAfterMs;
  }

  /** The tenant's policy, or 'unknown' when this replica cannot currently vouch for it. */
  policyOf(tenantId: string): TenantPolicy | 'unknown' {
    if (!this.isCurrent()) return 'unknown';
    return this.#policies.get(tenantId) ?? DEFAULT_POLICY;
  }

  /** See TenantPolicies.applyCommitted. Only for changes already committed: the view never runs ahead of the database. */
  applyCommitted(tenantId: string, policy: TenantPolicy): void {
    this.#generation += 1;
    this.#committedHere.set(tenantId, { generation: this.#generation, policy });
    this.#set(this.#policies, tenantId, policy);
    this.#log.info({ tenantId, frozen: policy.frozen }, 'tenant policy changed here');
  }

  #set(policies: Map<string, TenantPolicy>, tenantId: string, policy: TenantPolicy): void {
    const before = policies.get(tenantId) ?? DEFAULT_POLICY;
    if (policy.frozen || policy.rateLimitPerMinute !== null) policies.set(tenantId, policy);
    else policies.delete(tenantId);
    if (policies === this.#policies && !samePolicy(before, policy)) this.#told(tenantId, policy);
  }

  #told(tenantId: string, policy: TenantPolicy): void {
    for (const listener of this.#listeners) {
      try {
        listener(tenantId, policy);
      } catch (error) {
        this.#log.error({ err: error, tenantId }, 'tenant policy listener failed');
      }
    }
  }

  /** After a load that began at generation `since`: re-applies the changes committed here since, forgets the older ones (the load saw them). */
  #keepCommittedSince(since: number, policies: Map<string, TenantPolicy>, only?: string): void {
    for (const [tenantId, change] of this.#committedHere) {
      if (only !== undefined && tenantId !== only) continue;
      if (change.generation > since) this.#set(policies, tenantId, change.policy);
      else if (only === undefined) this.#committedHere.delete(tenantId);
    }
  }

  async #refresh(): Promise<void> {
    try {
      const since = this.#generation;
      const rows = await this.#feed.query<PolicyRow>(POLICY_QUERY, [], OPERATOR);
      const policies = new Map(rows.map((row) => [row.id, toPolicy(row)]));
      this.#keepCommittedSince(since, policies);
      const before = this.#policies;
      this.#policies = policies;
      this.#loadedAt = Date.now();
      this.#tellDifferences(before, policies);
    } catch (error) {
      this.#log.warn({ err: error }, 'tenant policy reload failed');
    }
  }

  /** A full reload may bring a change whose notification was missed: its listeners hear of it too. */
  #tellDifferences(before: Map<string, TenantPolicy>, after: Map<string, TenantPolicy>): void {
    if (this.#listeners.size === 0) return;
    for (const tenantId of new Set([...before.keys(), ...after.keys()])) {
      const policy = after.get(tenantId) ?? DEFAULT_POLICY;
      if (!samePolicy(before.get(tenantId) ?? DEFAULT_POLICY, policy)) this.#told(tenantId, policy);
    }
  }

  async #reloadTenant(tenantId: string): Promise<void> {
    try {
      const since = this.#generation;
      const [row] = await this.#feed.query<PolicyRow>(
        'select id, status, rate_limit_per_minute, frozen_reason from tenants where id = $1',
        [tenantId],
        OPERATOR,
      );
      this.#set(this.#policies, tenantId, row ? toPolicy(row) : DEFAULT_POLICY);
      this.#keepCommittedSince(since, this.#policies, tenantId);
      this.#log.info({ tenantId, frozen: row?.status === 'FROZEN' }, 'tenant policy changed');
    } catch (error) {
      this.#log.warn({ err: error, tenantId }, 'tenant policy change could not be read; full reload follows');
      await this.#refresh();
    }
  }
}

function samePolicy(a: TenantPolicy, b: TenantPolicy): boolean {
  return a.frozen === b.frozen && a.deletion === b.deletion && a.rateLimitPerMinute === b.rateLimitPerMinute;
}

interface PolicyRow {
  id: string;
  status: string;
  rate_limit_per_minute: number | null;
  frozen_reason: string | null;
}

function toPolicy(row: PolicyRow): TenantPolicy {
  return policyOfTenant({ status: row.status, rateLimitPerMinute: row.rate_limit_per_minute, frozenReason: row.frozen_reason });
}

/**
 * Every region's watcher as one view: a tenant's row, and so its policy, is in exactly one region,
 * so the first policy that is not the default answers. Any region's feed down makes every tenant
 * 'unknown' (fail closed): a replica that cannot vouch for one region cannot tell which tenants are
 * in it without asking it.
 */
export class RegionalTenantPolicies implements TenantPolicies {
  constructor(readonly watchers: readonly TenantPolicyWatcher[]) {}

  isCurrent(): boolean {
    return this.watchers.every((watcher) => watcher.isCurrent());
  }

  /**
   * Applied to the watcher of the tenant's region, the one whose feed will confirm it (to every
   * watcher when the region is not named: another region's watcher then holds the change until
   * its next full reload).
   */
  applyCommitted(tenantId: string, policy: TenantPolicy, region?: string): void {
    for (const watcher of this.watchers) {
      if (region === undefined || watcher.region === undefined || watcher.region === region) watcher.applyCommitted(tenantId, policy);
    }
  }

  policyOf(tenantId: string): TenantPolicy | 'unknown' {
    let policy: TenantPolicy = DEFAULT_POLICY;
    for (const watcher of this.watchers) {
      const found = watcher.policyOf(tenantId);
      if (found === 'unknown') return 'unknown';
      if (policy === DEFAULT_POLICY) policy = found;
    }
    return policy;
  }
}

const PENDING = new WeakMap<object, { tenantId: string; policy: TenantPolicy; region?: string }[]>();

/**
 * For an operator's resolver: this tenant's new policy, in force on this replica as soon as the
 * request's transaction has committed (see useCommittedTenantPolicies), and never before.
 */
export function applyAfterCommit(ctx: object, change: { tenantId: string; policy: TenantPolicy; region?: string }): void {
  const pending = PENDING.get(ctx) ?? [];
  pending.push(change);
  PENDING.set(ctx, pending);
}

/** A tenant row's policy, as the watcher reads it (a deletion's status included). */
export function policyOfTenant(tenant: { status: string; rateLimitPerMinute?: number | null; frozenReason?: string | null }): TenantPolicy {
  const frozenReason = tenant.status === 'FROZEN' ? tenant.frozenReason : null;
  const deletion = tenant.status === 'DELETION_PENDING' ? 'PENDING' : tenant.status === 'DELETED' ? 'DELETED' : undefined;
  return {
    frozen: tenant.status !== 'ACTIVE',
    rateLimitPerMinute: tenant.rateLimitPerMinute ?? null,
    ...(frozenReason ? { frozenReason } : {}),
    ...(deletion ? { deletion } : {}),
  };
}

/**
 * Applies the changes of `applyAfterCommit` to this replica's view when the operation ends
 * without errors: the request transaction (src/request/use-request-transaction.ts) has committed by
 * then, and rolls back whenever the result carries an error. So the replica that froze a tenant
 * refuses it from the moment the mutation's answer leaves; other replicas follow through the feed.
 */
export function useCommittedTenantPolicies(policies: TenantPolicies): Plugin {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          const pending = PENDING.get(args.contextValue as object);
          if (!pending) return;
          PENDING.delete(args.contextValue as object);
          if ('errors' in result && result.errors?.length) return;
          for (const { tenantId, policy, region } of pending) policies.applyCommitted(tenantId, policy, region);
        },
      };
    },
  };
}
