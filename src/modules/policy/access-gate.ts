import type { Principal } from '../../auth/principal.ts';
import { clientError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { TenantPolicies } from '../tenants/tenant-policy-watcher.ts';

/**
 * Fail closed, before anything runs: every request of a tenant principal passes here when its
 * context is built. Refused when the tenant is frozen, when this replica cannot vouch for the
 * freeze state, and when the isolation canary has locked the gateway down. Operators still pass
 * a lockdown (someone has to investigate) but never reach tenant rows anyway.
 */
export class AccessGate {
  #lockdown: string | undefined;
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

  check(principal: Principal): void {
    if (!('tenantId' in principal)) return;
    if (this.#lockdown) throw clientError('SERVICE_UNAVAILABLE', 'The gateway is locked down', { http: { status: 503 } });
    const policy = this.policies.policyOf(principal.tenantId);
    if (policy === 'unknown') {
      throw clientError('SERVICE_UNAVAILABLE', 'Tenant state is unavailable; try again shortly', { http: { status: 503 } });
    }
    if (policy.frozen) throw clientError('TENANT_FROZEN', 'This tenant is frozen', { http: { status: 403 } });
  }
}
