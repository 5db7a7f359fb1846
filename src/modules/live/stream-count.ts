import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** The places of open streams, per tenant: what the per-tenant limit (LiveLimits.perTenant) counts. */
export interface StreamCount {
  /** Takes a place for the tenant's stream `streamId`; false when the tenant already holds `limit`. Rejects when it cannot tell. */
  take(tenantId: string, streamId: string, limit: number): Promise<boolean>;
  /** Gives the stream's place back (it ended). */
  release(tenantId: string, streamId: string): void;
}

/** Without Redis: this replica's own streams (N replicas admit N × the limit). */
export class LocalStreamCount implements StreamCount {
  readonly #byTenant = new Map<string, Set<string>>();

  take(tenantId: string, streamId: string, limit: number): Promise<boolean> {
    let streams = this.#byTenant.get(tenantId);
    if ((streams?.size ?? 0) >= limit) return Promise.resolve(false);
    if (!streams) {
      streams = new Set();
      this.#byTenant.set(tenantId, streams);
    }
    streams.add(streamId);
    return Promise.resolve(true);
  }

  release(tenantId: string, streamId: string): void {
    const streams = this.#byTenant.get(tenantId);
    streams?.delete(streamId);
    if (streams?.size === 0) this.#byTenant.delete(tenantId);
  }
}

/** Drops the expired leases, then adds ARGV[1] if fewer than ARGV[2] remain; leases end ARGV[3] ms from Redis's own clock. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Extends the leases ARGV[2..] by ARGV[1] ms from now (Redis's clock). */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

export interface RedisStreamCountOptions {
  redis: Redis;
  /** The Redis key of a tenant's leases. */
  keyOf: (tenantId: string) => string;
  log: Logger;
  /** How long a lease lives unless its replica renews it (every third of it). Default 30 s. */
  leaseMs?: number;
}

/**
 * With Redis: one count across every replica. Each tenant has a sorted set of its open streams' ids,
 * scored by when their lease ends (by Redis's clock, so replicas' clocks do not matter); a take
 * drops the ended leases, counts and adds in one script, so two replicas cannot both take the last
 * place. The replica holding a stream renews its lease every third of `leaseMs` and removes it when
 * the stream ends. A replica that crashes renews nothing: its places come free within `leaseMs`, and
 * the key itself expires with its last lease, so nothing is held forever.
 */
export class RedisStreamCount implements StreamCount {
  readonly #redis: Redis;
  readonly #keyOf: (tenantId: string) => string;
  readonly #log: Logger;
  readonly #leaseMs: number;
  /** The leases this replica holds, by tenant. */
  readonly #held = new Map<string, Set<string>>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: RedisStreamCountOptions) {
    this.#redis = options.redis;
    this.#keyOf = options.keyOf;
    this.#log = options.log;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  async take(tenantId: string, streamId: string, limit: number): Promise<boolean> {
    const taken = await this.#redis.eval(TAKE, 1, this.#keyOf(tenantId), streamId, limit, this.#leaseMs);
    if (taken !== 1) return false;
    let streams = this.#held.get(tenantId);
    if (!streams) {
      streams = new Set();
      this.#held.set(tenantId, streams);
    }
    streams.add(streamId);
    return true;
  }

  release(tenantId: string, streamId: string): void {
    const streams = this.#held.get(tenantId);
    if (!streams?.delete(streamId)) return;
    if (streams.size === 0) this.#held.delete(tenantId);
    // On failure the lease simply runs out (leaseMs).
    const removing = this.#redis.zrem(this.#keyOf(tenantId), streamId).catch((error: unknown) => {
      this.#log.warn({ err: error, tenantId }, 'could not free a live stream place in Redis; its lease runs out');
    });
    this.#pending.add(removing);
    void removing.finally(() => this.#pending.delete(removing));
  }

  /** Stops renewing; resolves once the releases already asked for are done. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const [tenantId, streams] of this.#held) pipeline.eval(RENEW, 1, this.#keyOf(tenantId), this.#leaseMs, ...streams);
    const results = await pipeline.exec().catch((error: unknown) => [[error, null] as [unknown, unknown]]);
    const failed = results?.find(([error]) => error);
    if (failed) this.#log.warn({ err: failed[0] }, 'could not renew live stream places in Redis');
  }
}
