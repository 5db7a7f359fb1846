import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Context, RequestContext } from '../../context.ts';
import { clientError } from '../../shared/errors.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { recordDeniedAttempt } from '../audit/audit-trail.ts';
import type { TenantPolicies } from '../tenants/tenant-policy-watcher.ts';

export interface RateLimitOptions {
  /** Operations per minute per tenant, unless the tenant has its own limit (set by operators). */
  tenantPerMinute: number;
  /** Operations per minute per API key, within its tenant's limit. */
  apiKeyPerMinute: number;
  /** Shared counters across replicas; without it, counters are per process. */
  redis?: Redis;
  policies: TenantPolicies;
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
      const ctx = args.contextValue as Context;
      const { principal } = ctx;
      if (!('tenantId' in principal)) return;
      const policy = options.policies.policyOf(principal.tenantId);
      const tenantLimit = (policy !== 'unknown' && policy.rateLimitPerMinute) || options.tenantPerMinute;
      const checks: [name: 'tenant' | 'api-key', points: number, key: string][] = [['tenant', tenantLimit, principal.tenantId]];
      if (principal.kind === 'apiKey') checks.push(['api-key', options.apiKeyPerMinute, principal.keyId]);
      for (const [name, points, key] of checks) {
        const refusal = await limiter(name, points)
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
        options.metrics.rateLimited.inc({ tenant: principal.tenantId, limit: name });
        // One audit event per limit and window (its first refusal): a flood does not become a flood of writes.
        if (refusal.consumedPoints === points + 1) {
          await recordDeniedAttempt({ orm: ctx.region.orm, log: ctx.log }, principal, ctx.requestId, {
            action: 'rateLimit.exceeded',
            detail: { limit: name, retryAfterSeconds: retryAfter },
          });
        }
        setResultAndStopExecution({
          errors: [
            clientError('RATE_LIMITED', `Rate limit exceeded; retry in ${retryAfter}s`, {
              retryAfterSeconds: retryAfter,
              http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
            }),
          ],
        });
        return;
      }
    },
  };
}
