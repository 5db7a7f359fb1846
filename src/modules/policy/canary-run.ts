import { hostname } from 'node:os';

/**
 * Why a canary run was not OK, as a fixed code: the one thing of a finding that is stored
 * (isolation_canary_runs.reason, migrations/0037) and shown to operators. The finding's text names
 * tables, agents and tenants; it goes to the operators' logs and audit only.
 */
export const CANARY_REASONS = {
  APP_ROLE_SUPERUSER: 'EXPOSED: the gateway’s database role is a superuser.',
  APP_ROLE_BYPASSES_RLS: 'EXPOSED: the gateway’s database role bypasses row-level security.',
  RLS_NOT_FORCED: 'EXPOSED: row-level security is not enabled and forced on a tenant table.',
  DATABASE_CROSS_TENANT_READ: 'EXPOSED: one tenant read another’s rows in the database under its own setting.',
  DATABASE_CROSS_TENANT_WRITE: 'EXPOSED: one tenant wrote a row into another in the database under its own setting.',
  API_CROSS_TENANT_READ: 'EXPOSED: one tenant read another’s agent by id through the API.',
  API_CROSS_TENANT_LIST: 'EXPOSED: one tenant listed another’s agent through the API.',
  API_CROSS_TENANT_WRITE: 'EXPOSED: one tenant’s update of another’s agent was not refused as not found.',
  SANDBOX_DOWNGRADED: 'EXPOSED: an agent’s container runs under another sandbox than the agent requires.',
  SANDBOX_MISREPORTED: 'EXPOSED: an agent’s container runs under another sandbox than the API shows.',
  SETUP_FAILED: 'ERROR: the canary tenants could not be found or created.',
  CATALOG_CHECK_FAILED: 'ERROR: the database catalog could not be read.',
  DATABASE_PROBE_FAILED: 'ERROR: the database probes could not run.',
  API_PROBE_FAILED: 'ERROR: the API probes could not run.',
  SANDBOX_CHECK_FAILED: 'ERROR: the agents’ containers could not be compared with the database.',
} as const;

export type CanaryReason = keyof typeof CANARY_REASONS;

/** One isolation canary run: when, how it ended, how long it took, and why when it was not OK (no detail: that goes to logs and audit). */
export interface CanaryRun {
  ranAt: Date;
  /** OK: every probe was refused and the catalog holds; EXPOSED: something leaked (the gateway locked down); ERROR: the run failed. */
  outcome: 'OK' | 'EXPOSED' | 'ERROR';
  durationMs: number;
  /** Set exactly when the outcome is not OK: the first finding's code (or the step that failed). */
  reason: CanaryReason | null;
}

/** A run as the history keeps it: with its id (time-ordered, the list's cursor) and the replica that ran it. */
export interface StoredCanaryRun extends CanaryRun {
  id: string;
  /** Null where the reader may not know it (a tenant's owners and admins, see isolation-canary.schema.ts). */
  replica: string | null;
}

/** What isolation_canary_runs.replica accepts (its CHECK, migrations/0037; REPLICA_NAME in config.ts). */
const REPLICA_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/**
 * This replica's name in the canary history: REPLICA_NAME when set, else the host's name (a
 * container's or pod's, distinct per replica), made to fit the column's pattern.
 */
export function replicaNameOf(configured: string | undefined): string {
  if (configured) return configured;
  const fitted = hostname()
    .replace(/[^A-Za-z0-9._:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return REPLICA_NAME.test(fitted) ? fitted : 'gateway';
}
