import type { Redis } from 'ioredis';
import type { ChangeListener, ResetListener } from '../../db/change-feed.ts';
import type { Logger } from '../../shared/logger.ts';
import { RedisStreamCount } from './stream-count.ts';

/**
 * The Redis names of one deployment's live updates. `instance` is FLEETGATE_INSTANCE: replicas of one
 * deployment share it, another deployment on the same Redis must use another (pub/sub channels ignore
 * Redis's database numbers).
 */
export class LiveRedisNames {
  readonly #prefix: string;

  constructor(instance: string) {
    this.#prefix = `fleetgate:${instance}:live`;
  }

  /** The channel of one tenant's agent and task changes (the notification's text, as the relay heard it). */
  tenant(tenantId: string): string {
    return `${this.#prefix}:tenant:${tenantId}`;
  }

  /** The channel on which a region's relay beats (its epoch, every second). */
  relay(region: string): string {
    return `${this.#prefix}:relay:${region}`;
  }

  /** The sorted set of a tenant's open streams (RedisStreamCount). */
  streams(tenantId: string): string {
    return `${this.#prefix}:streams:${tenantId}`;
  }
}

export interface RedisFanOutOptions {
  /** The shared client (REDIS_URL): stream places are counted with it; a duplicate connection subscribes. */
  redis: Redis;
  names: LiveRedisNames;
  /** Every region's name: each has one relay, which this replica must hear. */
  regions: readonly string[];
  log: Logger;
  /** A region's relay not heard for this long: the fan-out cannot vouch for its changes (default 5 s; relays beat every second). */
  staleAfterMs?: number;
  /** See RedisStreamCountOptions.leaseMs. */
  leaseMs?: number;
}

/**
 * This replica's end of the Redis fan-out (REDIS_URL set): agent and task changes arrive here from
 * each region's relay (LiveRelay), on one channel per tenant, subscribed only while a stream of that
 * tenant is open on this replica (`follow`/`unfollow`), so a replica hears only the tenants it serves.
 *
 * It is `listening` while its connection to Redis is up and every region's relay has beaten within
 * `staleAfterMs`. Like a change feed, it tells its reset listeners when that stops (the connection
 * closed, a relay fell silent) and when it is back; it also tells of a loss when a region's relay
 * changes (a new epoch): changes committed between the old relay's end and the new one's LISTEN were
 * published by no one, so whatever streams were open may have missed them.
 *
 * What arrives is not trusted for its tenant: a message is the notification's text, and LiveUpdates
 * delivers it only to streams of the tenant the change itself names, whatever channel it came on.
 */
export class RedisFanOut {
  readonly count: RedisStreamCount;
  readonly #names: LiveRedisNames;
  readonly #regions: readonly string[];
  readonly #log: Logger;
  readonly #staleAfterMs: number;
  readonly #subscriber: Redis;
  readonly #relayChannels: Map<string, string>;
  /** Tenant channels subscribed now: streams following each, and the SUBSCRIBE's answer. */
  readonly #channels = new Map<string, { followers: number; subscribed: Promise<unknown> }>();
  /** Each region's relay as last heard: its epoch and when. */
  readonly #relays = new Map<string, { epoch: string; heardAt: number }>();
  readonly #changes = new Set<ChangeListener>();
  readonly #resets = new Set<ResetListener>();
  readonly #timer: NodeJS.Timeout;
  #connected = false;
  #listening = false;
  #closed = false;

  constructor(options: RedisFanOutOptions) {
    this.#names = options.names;
    this.#regions = options.regions;
    this.#log = options.log.child({ component: 'live-fan-out' });
    this.#staleAfterMs = options.staleAfterMs ?? 5_000;
    this.#relayChannels = new Map(options.regions.map((region) => [options.names.relay(region), region]));
    this.count = new RedisStreamCount({
      redis: options.redis,
      keyOf: (id) => options.names.streams(id),
      log: this.#log,
      leaseMs: options.leaseMs,
    });
    // Its own connection: a subscribed connection runs nothing else. No offline queue and no automatic
    // resubscription: while it is down a SUBSCRIBE fails at once, and after it each subscription is
    // made again by a stream that opens.
    this.#subscriber = options.redis.duplicate({ autoResubscribe: false, enableOfflineQueue: false, lazyConnect: false });
    this.#subscriber.on('ready', () => void this.#connectedNow());
    this.#subscriber.on('close', () => this.#disconnected());
    this.#subscriber.on('error', (error: Error) => {
      if (this.#connected) this.#log.warn({ err: error }, 'live fan-out: Redis connection error');
    });
    this.#subscriber.on('message', (channel: string, message: string) => this.#message(channel, message));
    this.#timer = setInterval(() => this.#evaluate(), 500);
    this.#timer.unref();
  }

  /** Whether changes of every region reach this replica now (Redis up, every relay heard lately). */
  get listening(): boolean {
    return this.#listening;
  }

  /** Calls `listener` with every change that arrives (the notification's text). Returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#changes.add(listener);
    return () => this.#changes.delete(listener);
  }

  /** Calls `listener` on every loss (false) and every return (true). Returns the unsubscribe function. */
  onReset(listener: ResetListener): () => void {
    this.#resets.add(listener);
    return () => this.#resets.delete(listener);
  }

  /** One more stream of the tenant: resolves once its channel is subscribed (rejects if it cannot be). */
  async follow(tenantId: string): Promise<void> {
    let channel = this.#channels.get(tenantId);
    if (!channel) {
      const entry = { followers: 0, subscribed: this.#subscriber.subscribe(this.#names.tenant(tenantId)) };
      // A failed SUBSCRIBE is forgotten at once: the next stream tries again.
      entry.subscribed.catch(() => {
        if (this.#channels.get(tenantId) === entry) this.#channels.delete(tenantId);
      });
      this.#channels.set(tenantId, entry);
      channel = entry;
    }
    channel.followers += 1;
    await channel.subscribed;
  }

  /** One stream of the tenant fewer; the last one unsubscribes its channel. */
  unfollow(tenantId: string): void {
    const channel = this.#channels.get(tenantId);
    if (!channel) return;
    channel.followers -= 1;
    if (channel.followers > 0) return;
    this.#channels.delete(tenantId);
    if (this.#connected) this.#subscriber.unsubscribe(this.#names.tenant(tenantId)).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#setListening(false);
    this.#subscriber.disconnect();
    await this.count.close();
  }

  async #connectedNow(): Promise<void> {
    try {
      await this.#subscriber.subscribe(...this.#relayChannels.keys());
      this.#connected = true;
      this.#log.info({ regions: this.#regions }, 'live fan-out connected to Redis; waiting for each region’s relay');
    } catch (error) {
      this.#log.warn({ err: error }, 'live fan-out: could not subscribe to the relays; waiting for the next connection');
    }
  }

  #disconnected(): void {
    if (!this.#connected) return;
    this.#connected = false;
    // The connection's subscriptions went with it.
    this.#channels.clear();
    this.#relays.clear();
    if (!this.#closed)
      this.#log.error('live fan-out lost its Redis connection: live streams end, subscriptions are refused until it is back');
    this.#setListening(false);
  }

  #message(channel: string, message: string): void {
    const region = this.#relayChannels.get(channel);
    if (region !== undefined) {
      this.#heard(region, message);
      return;
    }
    for (const listener of this.#changes) {
      try {
        listener(message);
      } catch (error) {
        this.#log.error({ err: error }, 'live change listener failed');
      }
    }
  }

  #heard(region: string, epoch: string): void {
    const before = this.#relays.get(region);
    this.#relays.set(region, { epoch, heardAt: Date.now() });
    if (before && before.epoch !== epoch && this.#listening) {
      this.#log.warn(
        { region },
        'another replica relays the region now: live streams end (changes between the two relays were heard by neither)',
      );
      this.#setListening(false);
    }
    this.#evaluate();
  }

  /** Listening exactly while connected and every region's relay beat within staleAfterMs. */
  #evaluate(): void {
    if (this.#closed) return;
    const now = Date.now();
    const silent = this.#regions.filter(
      (region) => now - (this.#relays.get(region)?.heardAt ?? Number.NEGATIVE_INFINITY) > this.#staleAfterMs,
    );
    const listening = this.#connected && silent.length === 0;
    if (listening === this.#listening) return;
    if (listening) this.#log.info('live fan-out current: every region’s relay heard');
    else this.#log.error({ regions: silent }, 'live fan-out: no relay heard: live streams end, subscriptions are refused until one is');
    this.#setListening(listening);
  }

  #setListening(listening: boolean): void {
    if (listening === this.#listening) return;
    this.#listening = listening;
    for (const listener of this.#resets) {
      try {
        listener(listening);
      } catch (error) {
        this.#log.error({ err: error }, 'live fan-out reset listener failed');
      }
    }
  }
}
