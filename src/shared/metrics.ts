import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds; from a cached read (a few ms) to the statement timeout's order (15 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];

/** Distinct operation names one registry labels before the rest count as `other` (clients choose names). */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Distinct published (app, version) pairs one registry labels before the rest count as `other`. */
const MAX_CLIENT_APP_VERSIONS = 200;

type ClientAppLabels = Readonly<{ app: string; version: string }>;
const OTHER_CLIENT_APP: ClientAppLabels = { app: 'other', version: 'other' };

/** What the state gauges read when scraped; main.ts and the gateway wire them (see Metrics.watch). */
export interface WatchedState {
  lockedDown: () => boolean;
  freezeFeedCurrent: () => boolean;
  draining: () => boolean;
  /** Subscriptions (live updates) open on this replica now. */
  liveStreams?: () => number;
  /** With Redis only: whether live updates' fan-out is current (RedisFanOut.listening); `fleetgate_live_fan_out_up` exists only then. */
  liveFanOutUp?: () => boolean;
  /** Regions whose live changes this replica relays to Redis now (0 without Redis). */
  liveRelays?: () => number;
}

export interface MetricsOptions {
  /** CPU, memory, event loop and GC metrics of the process (default true). */
  processMetrics?: boolean;
  /**
   * Tenants broken out in the per-operation metrics (env METRICS_TENANT_LABELS): with any listed, those
   * metrics gain a `tenant` label whose value is the tenant's id for a listed tenant and `other` for every
   * other request (other tenants, operators, anonymous). None listed (the default): no tenant label.
   */
  tenantLabels?: readonly string[];
}

/**
 * The gateway's Prometheus metrics, one registry per server instance (tests build many). No label
 * carries a tenant id, a name or anything a tenant typed (cardinality, and what a scrape may reveal):
 * operation names are bounded (MAX_OPERATION_NAMES, then `other`); which tenant did what is in the
 * logs and the audit trail, by request id. The one opt-in exception is the operator's allow-list of
 * tenants (MetricsOptions.tenantLabels), bounded by its length plus `other`. Process metrics (CPU,
 * memory, event loop, GC) too.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #operationNames = new Set<string>();
  /** The allow-listed tenants; undefined: no tenant label at all. */
  readonly #tenants: ReadonlySet<string> | undefined;
  /** The label values of each app and version seen, by app then version: one object each, looked up without building a key per request. */
  readonly #clientAppLabels = new Map<string, Map<string, ClientAppLabels>>();
  #clientAppVersions = 0;
  #state: WatchedState | undefined;
  readonly operationDuration: Histogram;
  readonly operations: Counter;
  readonly denials: Counter;
  readonly crossTenantAttempts: Counter;

  constructor(options: MetricsOptions = {}) {
    this.#tenants = options.tenantLabels?.length ? new Set(options.tenantLabels.map((id) => id.toLowerCase())) : undefined;
    const tenant = this.#tenants ? ['tenant'] : [];
    this.operationDuration = new Histogram({
      name: 'fleetgate_operation_duration_seconds',
      help: 'Executed GraphQL operations: latency by operation type, name and outcome (ok, denied, error), and for a trusted document the published client app and version',
      labelNames: ['operation_type', 'operation_name', 'outcome', 'app', 'version', ...tenant],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.operations = new Counter({
      name: 'fleetgate_operations_total',
      help: 'Executed GraphQL operations by outcome (ok, denied, error)',
      labelNames: ['outcome', ...tenant],
      registers: [this.registry],
    });
    this.denials = new Counter({
      name: 'fleetgate_denials_total',
      help: 'Refused operations by error code',
      labelNames: ['code', ...tenant],
      registers: [this.registry],
    });
    this.crossTenantAttempts = new Counter({
      name: 'fleetgate_cross_tenant_attempts_total',
      help: 'Lookups of well-formed ids that are not in the caller’s tenant (foreign or missing: indistinguishable by design), by principal kind',
      labelNames: ['principal', ...tenant],
      registers: [this.registry],
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Series that alerts watch with increase() exist at 0 from the first scrape: a series born at 1
    // shows no increase, and the first canary exposure would page nobody.
    for (const result of ['ok', 'exposed', 'error']) this.canaryRuns.inc({ result }, 0);
    this.egressDenialBursts.inc(0);
    for (const limit of ['lock_timeout', 'statement_timeout', 'idle_in_transaction_timeout', 'pool_timeout'])
      this.databaseBusy.inc({ limit }, 0);
    this.databaseBusy.inc({ limit: 'connection_lost' }, 0);
    this.crossTenantAttempts.inc({ principal: 'user', ...this.tenantLabel(undefined) }, 0);
  }

  readonly httpDuration = new Histogram({
    name: 'fleetgate_http_request_duration_seconds',
    help: 'HTTP requests to the public listener: latency by endpoint (graphql, readyz, livez, other) and status code',
    labelNames: ['endpoint', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly refusedBeforeExecution = new Counter({
    name: 'fleetgate_refused_before_execution_total',
    help: 'Requests refused before any operation ran (document limits, CSRF, malformed body, persisted documents, cost), by error code and whether a tenant audit log recorded it',
    labelNames: ['code', 'audited'],
    registers: [this.registry],
  });
  readonly databaseBusy = new Counter({
    name: 'fleetgate_database_busy_total',
    help: 'Requests answered 503 because the database did not answer in time, by the limit that fired',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'fleetgate_rate_limited_total',
    help: 'Operations refused by a rate limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly freezeEvents = new Counter({
    name: 'fleetgate_freeze_events_total',
    help: 'Tenant freezes and unfreezes',
    labelNames: ['action', 'cause'],
    registers: [this.registry],
  });
  readonly provisioning = new Counter({
    name: 'fleetgate_provisioning_jobs_total',
    help: 'Agent runtime jobs by kind and outcome (ok, retry, failed: gave up)',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  readonly egressConnections = new Counter({
    name: 'fleetgate_egress_connections_total',
    help: 'Egress proxy connections and forwarded requests by kind (connect, http), outcome (allowed, denied) and reason (a fixed set: not_allowed, ip_literal, private_address, ...)',
    labelNames: ['kind', 'outcome', 'reason'],
    registers: [this.registry],
  });
  readonly egressBytes = new Counter({
    name: 'fleetgate_egress_bytes_total',
    help: 'Bytes through the egress proxy, by direction (out: agent to destination, in: back)',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly egressDenialBursts = new Counter({
    name: 'fleetgate_egress_denial_bursts_total',
    help: 'Egress agents whose denied destinations passed the burst threshold (an isolation alert: probing or exfiltration attempts)',
    registers: [this.registry],
  });
  readonly canaryRuns = new Counter({
    name: 'fleetgate_canary_runs_total',
    help: 'Isolation canary runs by result (ok, exposed: something leaked and was frozen, error: the run failed)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly lockdown = this.#stateGauge('fleetgate_lockdown', '1 while the isolation canary has locked this replica down', (s) =>
    s.lockedDown(),
  );
  readonly freezeFeedUp = this.#stateGauge(
    'fleetgate_freeze_feed_up',
    '1 while this replica can vouch for every region’s freeze state (0: tenant requests are refused)',
    (s) => s.freezeFeedCurrent(),
  );
  readonly draining = this.#stateGauge('fleetgate_draining', '1 while this replica is shutting down', (s) => s.draining());
  readonly liveStreams = new Gauge({
    name: 'fleetgate_live_streams',
    help: 'Subscriptions (live updates, SSE) open on this replica',
    registers: [this.registry],
    collect: () => {
      const count = this.#state?.liveStreams?.();
      if (count !== undefined) this.liveStreams.set(count);
    },
  });

  readonly liveRelays = new Gauge({
    name: 'fleetgate_live_relays',
    help: 'Regions whose live changes this replica relays to Redis (summed over replicas: one per region)',
    registers: [this.registry],
    collect: () => {
      const count = this.#state?.liveRelays?.();
      if (count !== undefined) this.liveRelays.set(count);
    },
  });

  /** Lets the state gauges read the gateway's state at scrape time. */
  watch(state: WatchedState): void {
    this.#state = state;
    // Only with Redis: a 0 without it would read as an outage.
    const fanOutUp = state.liveFanOutUp;
    if (fanOutUp && !this.registry.getSingleMetric('fleetgate_live_fan_out_up')) {
      new Gauge({
        name: 'fleetgate_live_fan_out_up',
        help: '1 while live updates’ Redis fan-out is current on this replica (0: its streams ended, subscriptions refused)',
        registers: [this.registry],
        collect() {
          this.set(fanOutUp() ? 1 : 0);
        },
      });
    }
  }

  /**
   * The `tenant` label of a request's operation metrics: `{}` without an allow-list, else the tenant's id
   * when listed and `other` for anyone else (another tenant, an operator, no principal).
   */
  tenantLabel(tenantId: string | undefined): { tenant?: string } {
    if (!this.#tenants) return {};
    return { tenant: tenantId && this.#tenants.has(tenantId) ? tenantId : 'other' };
  }

  /** An operation name as a label value: well-formed and among the first MAX_OPERATION_NAMES seen, else `other`. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.#operationNames.has(name)) return name;
    if (this.#operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.#operationNames.add(name);
    return name;
  }

  /**
   * A published app and version as label values: only names and versions a lookup found published
   * reach here (never a header as sent), and only the first MAX_CLIENT_APP_VERSIONS pairs; the rest
   * are `other`. They answer "who still runs version 1.2?" without a tenant id in any label.
   */
  clientAppLabels(app: string, version: string): ClientAppLabels {
    const versions = this.#clientAppLabels.get(app);
    const seen = versions?.get(version);
    if (seen) return seen;
    if (this.#clientAppVersions >= MAX_CLIENT_APP_VERSIONS) return OTHER_CLIENT_APP;
    const labels = { app, version };
    if (versions) versions.set(version, labels);
    else this.#clientAppLabels.set(app, new Map([[version, labels]]));
    this.#clientAppVersions += 1;
    return labels;
  }

  #stateGauge(name: string, help: string, read: (state: WatchedState) => boolean): Gauge {
    const metrics = this;
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        if (metrics.#state) this.set(read(metrics.#state) ? 1 : 0);
      },
    });
  }
}
