import { Counter, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics, one registry per server instance (tests build many).
 * Labels carry tenant ids, never names or anything a tenant typed.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly operations = new Counter({
    name: 'fleetgate_operations_total',
    help: 'Executed GraphQL operations by tenant and outcome',
    labelNames: ['tenant', 'outcome'],
    registers: [this.registry],
  });
  readonly denials = new Counter({
    name: 'fleetgate_denials_total',
    help: 'Refused operations by tenant and error code',
    labelNames: ['tenant', 'code'],
    registers: [this.registry],
  });
  readonly crossTenantAttempts = new Counter({
    name: 'fleetgate_cross_tenant_attempts_total',
    help: 'Lookups of well-formed ids that are not in the caller’s tenant (foreign or missing: indistinguishable by design)',
    labelNames: ['tenant'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'fleetgate_rate_limited_total',
    help: 'Operations refused by a rate limit',
    labelNames: ['tenant', 'limit'],
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
    labelNames: ['tenant', 'kind', 'outcome'],
    registers: [this.registry],
  });
  readonly canaryRuns = new Counter({
    name: 'fleetgate_canary_runs_total',
    help: 'Isolation canary runs by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
}
