import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Context, RequestContext } from '../../context.ts';
import { clientError } from '../../shared/errors.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { TenantPolicyWatcher } from '../tenants/tenant-policy-watcher.ts';

export interface RateLimitOptions {
  /** Operations per minute per tenant, unless the tenant has its own limit (set by operators). */
  tenantPerMinute: number;
  /** Operations per minute per API key, within its tenant's limit. */
  apiKeyPerMinute: number;
  /** Shared counters across replicas; without it, counters are per process. */
  redis?: Redis;
  policies: TenantPolicyWatcher;
  metrics: Metrics;
}

/**
 * Per-tenant and per-API-key limits counting GraphQL operations (a batch of five is five), not
 * HTTP requests. Refusals are `RATE_LIMITED` with HTTP 429 and `Retry-After`. With Redis, an
 * in-memory limiter insures against Redis being down rather than letting everything through.
 */
export function useRateLimit(options: RateLimitOptions): Plugin<RequestContext> {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiter = (name: string, points: number) => {
    const key = `${name}:${points}`;
    let existing = limiters.get(key);
    if (!existing) {
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: `fleetgate-${name}` });
      existing = options.redis
        ? new RateLimiterRedis({
            storeClient: options.redis,
            points,
            duration: 60,
            keyPrefix: `fleetgate-${name}`,
            insuranceLimiter: memory,
          })
        : memory;
      limiters.set(key, existing);
    }
    return existing;
  };

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const { principal } = args.contextValue as Context;
      if (!('tenantId' in principal)) return;
      const policy = options.policies.policyOf(principal.tenantId);
      const tenantLimit = (policy !== 'unknown' && policy.rateLimitPerMinute) || options.tenantPerMinute;
      try {
        await limiter('tenant', tenantLimit).consume(principal.tenantId);
        if (principal.kind === 'apiKey') await limiter('api-key', options.apiKeyPerMinute).consume(principal.keyId);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        options.metrics.rateLimited.inc({ tenant: principal.tenantId, limit: principal.kind === 'apiKey' ? 'api-key' : 'tenant' });
        setResultAndStopExecution({
          errors: [
            clientError('RATE_LIMITED', `Rate limit exceeded; retry in ${retryAfter}s`, {
              retryAfterSeconds: retryAfter,
              http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
            }),
          ],
        });
      }
    },
  };
}
