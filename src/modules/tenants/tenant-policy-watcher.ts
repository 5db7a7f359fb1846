import pg from 'pg';
import type { Logger } from '../../shared/logger.ts';

/** What a replica must know about a tenant on every request. Tenants absent from the map are ACTIVE with default limits. */
export interface TenantPolicy {
  /** Any status but ACTIVE: refused (see AccessGate.check for the one exception, an owner during a deletion's grace period). */
  frozen: boolean;
  /** Set when the status is a deletion's: PENDING in the grace period, DELETED once erased. */
  deletion?: 'PENDING' | 'DELETED';
  rateLimitPerMinute: number | null;
}

/** What the access gate and the rate limiter ask about tenants (one watcher, or every region's). */
export interface TenantPolicies {
  /** Whether this replica can vouch for every tenant's policy now. */
  isCurrent(): boolean;
  /** The tenant's policy, or 'unknown' when this replica cannot currently vouch for it. */
  policyOf(tenantId: string): TenantPolicy | 'unknown';
}

export interface TenantPolicyWatcherOptions {
  /** Full reload period; also the heartbeat proving the feed is alive. */
  refreshMs?: number;
  /** After this long without a successful load or a live LISTEN, the state is unknown: fail closed. */
  staleAfterMs?: number;
}

/** A tenant absent from the map: ACTIVE with the default limits. Shared and frozen, never mutated. */
const DEFAULT_POLICY: TenantPolicy = Object.freeze({ frozen: false, rateLimitPerMinute: null });

const CHANNEL = 'fleetgate_tenant_policy';
const POLICY_QUERY = `select id, status, rate_limit_per_minute from tenants
  where (status <> 'ACTIVE' or rate_limit_per_minute is not null)`;

/**
 * Keeps this replica's view of frozen tenants and per-tenant limits current: a dedicated
 * connection LISTENs for changes (a freeze on any replica reaches every other within
 * milliseconds) and reloads everything periodically. When it cannot vouch for its view — the
 * connection is down or the last load is too old — it says so, and the gateway refuses.
 *
 * It reads tenant metadata the way operators do (`app.operator`, transaction-local): the tenants
 * table only, never a row inside a tenant.
 */
export class TenantPolicyWatcher implements TenantPolicies {
  readonly #appUrl: string;
  readonly #log: Logger;
  readonly #refreshMs: number;
  readonly #staleAfterMs: number;
  #policies = new Map<string, TenantPolicy>();
  #client: pg.Client | undefined;
  #listening = false;
  #loadedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Serialises the feed connection's transactions (a reload and a change may arrive together). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(appUrl: string, log: Logger, options: TenantPolicyWatcherOptions = {}) {
    this.#appUrl = appUrl;
    this.#log = log.child({ component: 'tenant-policy-watcher' });
    this.#refreshMs = options.refreshMs ?? 5_000;
    this.#staleAfterMs = options.staleAfterMs ?? 15_000;
  }

  async start(): Promise<void> {
    await this.#connect();
    this.#timer = setInterval(() => void this.#refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#listening = false;
    await this.#client?.end().catch(() => undefined);
  }

  /** Whether this replica can vouch for its view: the feed is live and the last full load is recent. */
  isCurrent(): boolean {
    return this.#listening && Date.now() - this.#loadedAt <= this.#staleAfterMs;
  }

  /** The tenant's policy, or 'unknown' when this replica cannot currently vouch for it. */
  policyOf(tenantId: string): TenantPolicy | 'unknown' {
    if (!this.isCurrent()) return 'unknown';
    return this.#policies.get(tenantId) ?? DEFAULT_POLICY;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#appUrl, application_name: 'fleetgate-policy-watcher' });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) void this.#reloadTenant(message.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.#client = client;
    this.#listening = true;
    await this.#refresh();
    this.#log.info('listening for tenant policy changes');
  }

  #lost(client: pg.Client, error?: Error): void {
    if (this.#client !== client || !this.#listening) return;
    this.#listening = false;
    this.#log.error({ err: error }, 'tenant policy feed lost; refusing tenant requests until it is back');
    const retry = () => {
      if (this.#stopped) return;
      this.#connect().catch((cause: unknown) => {
        this.#log.warn({ err: cause }, 'tenant policy feed reconnect failed');
        setTimeout(retry, 1_000).unref();
      });
    };
    setTimeout(retry, 200).unref();
  }

  async #refresh(): Promise<void> {
    try {
      const rows = await this.#asOperator(POLICY_QUERY, []);
      this.#policies = new Map(rows.map((row) => [row.id, toPolicy(row)]));
      this.#loadedAt = Date.now();
    } catch (error) {
      this.#log.warn({ err: error }, 'tenant policy reload failed');
    }
  }

  async #reloadTenant(tenantId: string): Promise<void> {
    try {
      const [row] = await this.#asOperator('select id, status, rate_limit_per_minute from tenants where id = $1', [tenantId]);
      if (row && (row.status !== 'ACTIVE' || row.rate_limit_per_minute !== null)) this.#policies.set(tenantId, toPolicy(row));
      else this.#policies.delete(tenantId);
      this.#log.info({ tenantId, frozen: row?.status === 'FROZEN' }, 'tenant policy changed');
    } catch (error) {
      this.#log.warn({ err: error, tenantId }, 'tenant policy change could not be read; full reload follows');
      await this.#refresh();
    }
  }

  #asOperator(sql: string, params: unknown[]): Promise<PolicyRow[]> {
    const run = this.#queue.then(() => this.#query(sql, params));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #query(sql: string, params: unknown[]): Promise<PolicyRow[]> {
    const client = this.#client;
    if (!client) throw new Error('policy feed not connected');
    await client.query('begin');
    try {
      await client.query("select set_config('app.operator', 'on', true)");
      const { rows } = await client.query<PolicyRow>(sql, params);
      await client.query('commit');
      return rows;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  }
}

interface PolicyRow {
  id: string;
  status: string;
  rate_limit_per_minute: number | null;
}

function toPolicy(row: PolicyRow): TenantPolicy {
  const deletion = row.status === 'DELETION_PENDING' ? 'PENDING' : row.status === 'DELETED' ? 'DELETED' : undefined;
  return { frozen: row.status !== 'ACTIVE', rateLimitPerMinute: row.rate_limit_per_minute, ...(deletion ? { deletion } : {}) };
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
