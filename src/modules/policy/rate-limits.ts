import type { MikroORM } from '@mikro-orm/postgresql';
import type { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../../auth/principal.ts';
import { clientError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { recordDeniedAttempt } from '../audit/index.ts';
import type { TenantPolicies } from '../tenants/index.ts';

export interface RateLimitOptions {
  /** Operations per minute per tenant, unless the tenant has its own limit (set by operators). */
  tenantPerMinute: number;
  /** Operations per minute per API key, within its tenant's limit. */
  apiKeyPerMinute: number;
  /** Shared counters across replicas; without it, counters are per process. */
  redis?: Redis;
  policies: TenantPolicies;
  metrics: Metrics;
  /** Self-service sign-ups per client address per hour (default 10). */
  signUpPerIpPerHour?: number;
}

/** Where a refusal is audited: the request's region, correlation and log. */
export interface RateLimitRequest {
  orm: MikroORM;
  requestId: string;
  log: Logger;
}

/**
 * Per-tenant and per-API-key limits, one point per operation: a GraphQL operation (useRateLimit)
 * or an agent's memory request over its channel (MemoryChannel) count against the same tenant
 * budget. With Redis, an in-memory limiter insures against Redis being down rather than letting
 * everything through.
 */
export class RateLimits {
  readonly #options: RateLimitOptions;
  readonly #limiters = new Map<string, RateLimiterAbstract>();

  constructor(options: RateLimitOptions) {
    this.#options = options;
  }

  /**
   * Takes one point for the principal's tenant (and API key); undefined when admitted, otherwise the
   * `RATE_LIMITED` error to answer (HTTP 429 with `Retry-After`). Principals without a tenant are not counted.
   */
  async admit(principal: Principal, request: RateLimitRequest): Promise<GraphQLError | undefined> {
    if (!('tenantId' in principal)) return undefined;
    const policy = this.#options.policies.policyOf(principal.tenantId);
    const tenantLimit = (policy !== 'unknown' && policy.rateLimitPerMinute) || this.#options.tenantPerMinute;
    const checks: [name: 'tenant' | 'api-key', points: number, key: string][] = [['tenant', tenantLimit, principal.tenantId]];
    if (principal.kind === 'apiKey') checks.push(['api-key', this.#options.apiKeyPerMinute, principal.keyId]);
    for (const [name, points, key] of checks) {
      const refusal = await this.#limiter(name, points)
        .consume(key)
        .then(
          () => undefined,
          (rejection: unknown) => {
            if (rejection instanceof RateLimiterRes) return rejection;
            throw rejection;
          },
        );
      if (!refusal) continue;
      const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
      this.#options.metrics.rateLimited.inc({ limit: name });
      // One audit event per limit and window (its first refusal): a flood does not become a flood of writes.
      if (refusal.consumedPoints === points + 1) {
        await recordDeniedAttempt(request, principal, request.requestId, {
          action: 'rateLimit.exceeded',
          detail: { limit: name, retryAfterSeconds: retryAfter },
        });
      }
      return clientError('RATE_LIMITED', `Rate limit exceeded; retry in ${retryAfter}s`, {
        retryAfterSeconds: retryAfter,
        http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
      });
    }
    return undefined;
  }

  /**
   * Takes one sign-up point for the client's address; undefined when admitted, otherwise the
   * `RATE_LIMITED` error. Counted per replica unless Redis shares the counters.
   */
  async admitSignUp(clientAddress: string): Promise<GraphQLError | undefined> {
    const points = this.#options.signUpPerIpPerHour ?? 10;
    const refusal = await this.#limiter('sign-up', points, 3600)
      .consume(clientAddress)
      .then(
        () => undefined,
        (rejection: unknown) => {
          if (rejection instanceof RateLimiterRes) return rejection;
          throw rejection;
        },
      );
    if (!refusal) return undefined;
    const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
    return clientError('RATE_LIMITED', `Too many sign-ups from this address; retry in ${retryAfter}s`, {
      retryAfterSeconds: retryAfter,
      http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
    });
  }

  #limiter(name: string, points: number, duration = 60): RateLimiterAbstract {
    const key = `${name}:${points}:${duration}`;
    let existing = this.#limiters.get(key);
    if (!existing) {
      const memory = new RateLimiterMemory({ points, duration, keyPrefix: `fleetgate-${name}` });
      existing = this.#options.redis
        ? new RateLimiterRedis({
            storeClient: this.#options.redis,
            points,
            duration,
            keyPrefix: `fleetgate-${name}`,
            insuranceLimiter: memory,
          })
        : memory;
      this.#limiters.set(key, existing);
    }
    return existing;
  }
}
