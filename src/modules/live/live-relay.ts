import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ChangeFeed } from '../../db/change-feed.ts';
import type { Logger } from '../../shared/logger.ts';
import { releaseRelayLock, tryRelayLock } from './live.store.ts';
import { LIVE_CHANNEL, parseLiveChange } from './live-change.ts';
import type { LiveRedisNames } from './redis-fan-out.ts';

export interface LiveRelayOptions {
  /** The region's change feed: the lock is taken and `fleetgate_live` LISTENed on its connection. */
  feed: ChangeFeed;
  /** The shared client (REDIS_URL), which publishes. */
  redis: Redis;
  names: LiveRedisNames;
  region: string;
  log: Logger;
  /** How often a replica that does not relay tries the lock, and how often the relay beats (default 1 s). */
  pollMs?: number;
}

/**
 * One region's relay candidate on this replica (REDIS_URL set). Of all replicas, the one whose change
 * feed holds the region's relay lock (a Postgres session advisory lock, live.store.ts) LISTENs to
 * `fleetgate_live` and publishes each notification, as Postgres delivered it, on its tenant's Redis
 * channel; it also beats every `pollMs` on the region's relay channel with its epoch (a fresh id each
 * time it takes the lock). The others try the lock every `pollMs`.
 *
 * So a change reaches Redis once, and only if committed (a NOTIFY is delivered at commit and never
 * for a rollback), whoever made it: a request on any replica, a job, SQL by hand. The lock lives on
 * the connection that LISTENs: a relay that dies or loses that connection loses the lock at once
 * (Postgres ends the session), and another replica relays within `pollMs`; a relay that cannot
 * publish steps down and rests for three polls, so another replica may take over. Subscribers tell
 * a silent relay and a new one by the beat (RedisFanOut).
 */
export class LiveRelay {
  readonly #feed: ChangeFeed;
  readonly #redis: Redis;
  readonly #names: LiveRedisNames;
  readonly #region: string;
  readonly #log: Logger;
  readonly #pollMs: number;
  #relaying: { epoch: string; unlisten: () => void } | undefined;
  /** Counts the feed's losses: a lock taken before one was lost with that session. */
  #sessions = 0;
  #busy = false;
  #stopped = false;
  #restUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopReset: (() => void) | undefined;

  constructor(options: LiveRelayOptions) {
    this.#feed = options.feed;
    this.#redis = options.redis;
    this.#names = options.names;
    this.#region = options.region;
    this.#log = options.log.child({ component: 'live-relay', region: options.region });
    this.#pollMs = options.pollMs ?? 1_000;
  }

  /** Whether this replica relays its region now. */
  get relaying(): boolean {
    return this.#relaying !== undefined;
  }

  /** Tries at once, then every `pollMs`. Call after the feed has started. */
  start(): void {
    this.#stopReset = this.#feed.onReset((listening) => {
      if (!listening) this.#feedLost();
    });
    void this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.#pollMs);
    this.#timer.unref();
  }

  /** Stops relaying and gives the lock back, so another replica takes over at its next try. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#stopReset?.();
    await this.#stepDown();
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (this.#relaying) this.#beat(this.#relaying.epoch);
      else await this.#tryToRelay();
    } finally {
      this.#busy = false;
    }
  }

  async #tryToRelay(): Promise<void> {
    if (this.#stopped || !this.#feed.listening || this.#redis.status !== 'ready' || Date.now() < this.#restUntil) return;
    const session = this.#sessions;
    try {
      if (!(await tryRelayLock(this.#feed))) return;
      const unlisten = await this.#feed.listen(LIVE_CHANNEL, (payload) => this.#publish(payload));
      if (session !== this.#sessions) {
        unlisten(); // the feed's session ended meanwhile, and the lock with it
        return;
      }
      if (this.#stopped) {
        unlisten();
        await releaseRelayLock(this.#feed);
        return;
      }
      const epoch = randomUUID();
      this.#relaying = { epoch, unlisten };
      this.#log.info('this replica relays the region’s live changes to Redis');
      this.#beat(epoch);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not become the live relay');
      await releaseRelayLock(this.#feed).catch(() => undefined);
    }
  }

  /** A committed change, as Postgres notified it: onto its tenant's channel, the text unchanged. */
  #publish(payload: string): void {
    const change = parseLiveChange(payload);
    if (!change) {
      this.#log.warn('unreadable live change not relayed');
      return;
    }
    this.#redis.publish(this.#names.tenant(change.tenantId), payload).catch((error: unknown) => this.#cannotPublish(error));
  }

  #beat(epoch: string): void {
    this.#redis.publish(this.#names.relay(this.#region), epoch).catch((error: unknown) => this.#cannotPublish(error));
  }

  #cannotPublish(error: unknown): void {
    if (!this.#relaying) return;
    this.#log.error({ err: error }, 'the live relay cannot publish to Redis: stepping down');
    this.#restUntil = Date.now() + 3 * this.#pollMs;
    void this.#stepDown();
  }

  #feedLost(): void {
    this.#sessions += 1;
    if (!this.#relaying) return;
    this.#relaying.unlisten();
    this.#relaying = undefined;
    this.#log.warn('the live relay lost its change feed, and the lock with it: another replica takes over');
  }

  async #stepDown(): Promise<void> {
    const relaying = this.#relaying;
    if (!relaying) return;
    this.#relaying = undefined;
    relaying.unlisten();
    await releaseRelayLock(this.#feed).catch(() => undefined);
  }
}
