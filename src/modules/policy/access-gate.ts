import type { Principal } from '../../auth/principal.ts';
import { clientError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TenantPolicies } from '../tenants/tenant-policy-watcher.ts';
import type { CanaryRun } from './canary-run.ts';

/** What a request that passed the gate may do: everything its principal may, or only the deletion grace fields. */
export type AccessGrant = 'full' | 'deletion-grace';

/**
 * Fail closed, before anything runs: every request of a tenant principal passes here when its
 * context is built. Refused when the tenant is frozen, when this replica cannot vouch for the
 * freeze state, and when the isolation canary has locked the gateway down. Operators still pass
 * a lockdown (someone has to investigate) but never reach tenant rows anyway.
 */
export class AccessGate {
  #lockdown: string | undefined;
  #lastCanaryRun: CanaryRun | undefined;
  readonly #log: Logger;

  constructor(
    readonly policies: TenantPolicies,
    log: Logger,
  ) {
    this.#log = log.child({ component: 'access-gate' });
  }

  /** Refuse every tenant request from now on, on this replica, until restarted. */
  lockDown(reason: string): void {
    if (!this.#lockdown) this.#log.fatal({ reason }, 'ISOLATION EXPOSURE: gateway locked down');
    this.#lockdown = reason;
  }

  get lockedDown(): boolean {
    return this.#lockdown !== undefined;
  }

  /** Whether tenant requests can be served at all: false in lockdown or without a live freeze feed. */
  healthy(): boolean {
    return !this.lockedDown && this.policies.isCurrent();
  }

  /** The canary reports every run here, as it reports an exposure (lockDown): what members see of the walls' last test. */
  recordCanaryRun(run: CanaryRun): void {
    this.#lastCanaryRun = run;
  }

  get lastCanaryRun(): CanaryRun | undefined {
    return this.#lastCanaryRun;
  }

  /**
   * Refuses, or answers how far the request may go: 'full', or 'deletion-grace' for the one
   * exception to a refused tenant. While a deletion is pending (the grace period), the tenant is
   * refused like a frozen one (TENANT_DELETION_PENDING) for every principal (members, API keys,
   * agents, support grants) except a user whose role is OWNER: the owner must still be able to
   * cancel the deletion and download the final signed audit report before the erasure. That
   * principal gets 'deletion-grace', and useDeletionGrace (tenants/use-deletion-grace.ts) then lets
   * through only the root fields listed there (DELETION_GRACE_FIELDS); every other operation is
   * refused with the same code. An erased tenant (DELETED) is refused for everyone.
   */
  check(principal: Principal): AccessGrant {
    if (!('tenantId' in principal)) return 'full';
    if (this.#lockdown) throw clientError('SERVICE_UNAVAILABLE', 'The gateway is locked down', { http: { status: 503 } });
    const policy = this.policies.policyOf(principal.tenantId);
    if (policy === 'unknown') {
      throw clientError('SERVICE_UNAVAILABLE', 'Tenant state is unavailable; try again shortly', { http: { status: 503 } });
    }
    if (policy.deletion === 'DELETED') throw clientError('TENANT_DELETED', 'This tenant has been deleted', { http: { status: 403 } });
    if (policy.deletion === 'PENDING') {
      if (principal.kind === 'user' && principal.role === 'OWNER') return 'deletion-grace';
      throw clientError('TENANT_DELETION_PENDING', 'This tenant is awaiting deletion', { http: { status: 403 } });
    }
    // The operator's reason goes to the tenant's own principals only: it is written for the tenant to read.
    if (policy.frozen)
      throw clientError('TENANT_FROZEN', 'This tenant is frozen', { http: { status: 403 }, reason: policy.frozenReason ?? null });
    return 'full';
  }
}
