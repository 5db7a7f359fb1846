import { randomUUID } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { Principal } from '../../auth/principal.ts';
import { USER_LIVENESS_CHANNEL } from '../../auth/token-liveness.ts';
import type { ChangeFeed } from '../../db/change-feed.ts';
import { parseSnapshot, type Snapshot, seenBy } from '../../db/snapshot.ts';
import { clientError, isGraphQLError, unauthenticated } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AccessGate } from '../policy/access-gate.ts';
import type { TenantPolicy } from '../tenants/tenant-policy-watcher.ts';
import { LIVE_CHANNEL, type LiveChange, parseLiveChange } from './live-change.ts';
import { MessageQueue } from './message-queue.ts';
import type { RedisFanOut } from './redis-fan-out.ts';
import { LocalStreamCount, type StreamCount } from './stream-count.ts';

/** A tenant's status as `tenantStatus` reports it (the tenants table's values). */
export type TenantStatusName = 'ACTIVE' | 'FROZEN' | 'DELETION_PENDING' | 'DELETED';

/** What a stream yields: an event, or the final error that ends it (then nothing more). */
export type LiveMessage<Event> = { event: Event } | { error: GraphQLError };

export interface LiveLimits {
  /**
   * Open subscriptions of one tenant, across every replica with Redis (RedisStreamCount), on this
   * replica without; the next is refused with SUBSCRIPTION_LIMIT. Default 100.
   */
  perTenant: number;
  /** A stream that has delivered nothing for this long is closed with SUBSCRIPTION_ENDED. Default 30 minutes. */
  idleMs: number;
  /**
   * The longest life of a stream (SUBSCRIPTION_ENDED; the client subscribes again). It bounds what no
   * notification re-checks: an API key's revocation, a support grant's end. Default one hour.
   */
  maxLifetimeMs: number;
  /** Events waiting for a slow client, at most; past it the stream is closed with SUBSCRIPTION_ENDED. Default 256. */
  maxQueued: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = { perTenant: 100, idleMs: 30 * 60_000, maxLifetimeMs: 60 * 60_000, maxQueued: 256 };

/** Who opened a stream, and how to ask whether its credential still holds. */
export interface LiveSubscriber {
  principal: Principal & { tenantId: string };
  /**
   * Asks the database (not this replica's memory) whether the subscriber's token is still live: its
   * user an ACTIVE member at the token's version, its session not revoked. Rejects when it cannot tell.
   */
  stillLive(): Promise<boolean>;
}

/**
 * What a stream follows: `agent:<id>`, `task:<id>`, `tenant:<id>` or `agents:<tenant id>` (every agent
 * of the tenant: created, changed, deleted); `agentId` closes it when that agent is deleted.
 */
export interface LiveTopic<Event> {
  topic: `${'agent' | 'task' | 'tenant' | 'agents'}:${string}`;
  agentId?: string;
  /** The state at subscribe time, sent first, so a client never misses a change between its query and its subscription. */
  first?: Event;
  /**
   * The snapshot `first` was read under (`pg_current_snapshot()`'s text): a change it already saw is
   * not sent again, however late its notification arrives. Without it every change heard is sent.
   */
  snapshot?: string;
  /** Turns a change of this topic into the stream's event. */
  eventOf?: (change: LiveChange) => Event | undefined;
  /** Also hand `eventOf` the deletions (status DELETED), which other topics end on instead. */
  deletions?: boolean;
  /** A tenant stream: the event for a new tenant status. */
  tenantEventOf?: (status: TenantStatusName) => Event;
}

interface Stream {
  id: string;
  subscriber: LiveSubscriber;
  tenantId: string;
  userId: string | undefined;
  topic: LiveTopic<unknown>;
  queue: MessageQueue<LiveMessage<unknown>>;
  snapshot: Snapshot | undefined;
  openedAt: number;
  lastEventAt: number;
  /** A tenant stream's last status sent (a limit change moves the policy but not the status). */
  tenantStatus?: TenantStatusName;
}

export interface LiveUpdatesOptions {
  /** Every region's change feed: agent and task changes, user liveness, losses. */
  feeds: readonly ChangeFeed[];
  /** The freeze view: every open stream passes it again on every policy change and every second. */
  gate: AccessGate;
  /** Tells of each tenant policy change (every region's TenantPolicyWatcher.onChange); answers how to stop. */
  onPolicyChange: (listener: (tenantId: string, policy: TenantPolicy) => void) => () => void;
  log: Logger;
  limits?: Partial<LiveLimits>;
  /** How often open streams are checked against the gate, idle time and lifetime (default 1 s). */
  sweepMs?: number;
  /**
   * With Redis (REDIS_URL): agent and task changes arrive from each region's relay through Redis
   * instead of this replica's own LISTEN, and the per-tenant limit counts across replicas. Tenant
   * policy and user liveness still come from the feeds.
   */
  fanOut?: RedisFanOut;
}

/**
 * This replica's live updates (issue 18): the GraphQL subscriptions open here and the changes they
 * follow. Changes come from the database's triggers, which notify every committed status change of an
 * agent or a task on `fleetgate_live` (never a rolled-back one, whoever made it). How they reach
 * every replica:
 * - without Redis, each replica LISTENs on each region's change feed (the connection it already
 *   holds for the freeze view) and hears every change of its regions;
 * - with Redis (`fanOut`), one replica per region relays (LiveRelay: it holds the region's advisory
 *   lock, LISTENs and republishes each notification on its tenant's Redis channel), and each replica
 *   subscribes only to the channels of the tenants whose streams are open here (RedisFanOut). The
 *   per-tenant limit then counts across replicas. See docs/scale-out.md.
 * Tenant policy (freeze, deletion) and user liveness come from the feeds either way.
 *
 * Authorization is decided twice:
 * - at subscribe time, by the subscription's read (`open`'s `read`): the agent or task is read under
 *   the subscriber's tenant (ORM filter and RLS) in a transaction that checks the token first, so
 *   another tenant's id answers exactly as a missing one (NOT_FOUND);
 * - for every event, here: the change carries the row's own tenant id, written by the trigger from
 *   the row, and is delivered only to streams of that tenant (`#deliver`), whichever feed or Redis
 *   channel brought it (so a message written into Redis by anyone else cannot cross tenants). It is
 *   not re-read under the tenant's RLS per event: that would cost a transaction per subscriber and
 *   event, and the subscribe-time read already proved the id is this tenant's (ids are server-made
 *   uuids, a row never changes tenant).
 *
 * Streams end, with a final error event carrying `extensions.code`, when the subscriber may no
 * longer see them: a freeze or deletion of the tenant (the gate's own code, at the policy change
 * and at the latest on the next sweep), the user's removal, suspension, role change or revoked
 * session (its liveness notification, then a check in the database: UNAUTHENTICATED), the agent's
 * deletion (AGENT_DELETED), the feed or the Redis fan-out lost, or the region's relay changed
 * (SERVICE_UNAVAILABLE: this replica may have missed changes), idle time or lifetime over, or a
 * client too slow to read (SUBSCRIPTION_ENDED).
 */
export class LiveUpdates {
  readonly #feeds: readonly ChangeFeed[];
  readonly #gate: AccessGate;
  readonly #log: Logger;
  readonly limits: LiveLimits;
  readonly #sweepMs: number;
  readonly #byTopic = new Map<string, Set<Stream>>();
  readonly #byTenant = new Map<string, Set<Stream>>();
  readonly #byUser = new Map<string, Set<Stream>>();
  readonly #byAgent = new Map<string, Set<Stream>>();
  /**
   * Per tenant, the changes heard while a stream of it is being opened (its read running): handed to
   * it once registered. As long as a read at most: the request's lock and statement timeouts bound it.
   */
  readonly #opening = new Map<string, Set<LiveChange[]>>();
  readonly #onPolicyChange: LiveUpdatesOptions['onPolicyChange'];
  readonly #fanOut: RedisFanOut | undefined;
  readonly #count: StreamCount;
  readonly #unsubscribe: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Counts the losses (feed or fan-out): a stream whose read began before one is refused, it may have missed a change. */
  #losses = 0;

  constructor(options: LiveUpdatesOptions) {
    this.#feeds = options.feeds;
    this.#onPolicyChange = options.onPolicyChange;
    this.#gate = options.gate;
    this.#log = options.log.child({ component: 'live-updates' });
    this.limits = { ...DEFAULT_LIVE_LIMITS, ...options.limits };
    this.#sweepMs = options.sweepMs ?? 1_000;
    this.#fanOut = options.fanOut;
    this.#count = options.fanOut?.count ?? new LocalStreamCount();
  }

  /** Subscribes to the feeds, the fan-out and the freeze view; call before the feeds start. */
  follow(): void {
    const lost = (listening: boolean) => {
      if (listening) return;
      this.#losses += 1;
      this.#endAll(() => clientError('SERVICE_UNAVAILABLE', 'Live updates are unavailable; subscribe again shortly'));
    };
    this.#unsubscribe.push(this.#onPolicyChange((tenantId, policy) => this.#policyChanged(tenantId, policy)));
    for (const feed of this.#feeds) {
      if (!this.#fanOut) this.#unsubscribe.push(feed.subscribe(LIVE_CHANNEL, (payload) => this.#deliver(payload)));
      this.#unsubscribe.push(
        feed.subscribe(USER_LIVENESS_CHANNEL, (userId) => void this.#userChanged(userId)),
        feed.onReset(lost),
      );
    }
    if (this.#fanOut) {
      this.#unsubscribe.push(
        this.#fanOut.onChange((payload) => this.#deliver(payload)),
        this.#fanOut.onReset(lost),
      );
    }
    this.#timer = setInterval(() => this.#sweep(), this.#sweepMs);
    this.#timer.unref();
  }

  /** Ends every stream (shutdown) and stops listening. */
  stop(): void {
    clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#endAll(() => clientError('SERVICE_UNAVAILABLE', 'The gateway is shutting down; subscribe again'));
  }

  /** Streams open on this replica now (tests, bench). */
  get openStreams(): number {
    let count = 0;
    for (const streams of this.#byTenant.values()) count += streams.size;
    return count;
  }

  /** Whether a subscription may open now: with Redis, only while the fan-out is current. */
  get available(): boolean {
    return this.#fanOut?.listening ?? true;
  }

  /**
   * Opens a stream for a subscriber: takes a place under the tenant's limit (SUBSCRIPTION_LIMIT past
   * it), follows the tenant's changes (with Redis: its channel subscribed), and only then runs `read`,
   * the subscription's authorization (the object read under the subscriber's tenant), which answers
   * the topic. The tenant's changes heard during the read are kept and offered to the stream once it
   * is registered, so a change the read did not see is sent even if it was heard before the read
   * ended; the read's snapshot drops those it did see (`LiveTopic.snapshot`).
   */
  async open<Event>(subscriber: LiveSubscriber, read: () => Promise<LiveTopic<Event>>): Promise<AsyncIterableIterator<LiveMessage<Event>>> {
    const tenantId = subscriber.principal.tenantId;
    const unavailable = () => clientError('SERVICE_UNAVAILABLE', 'Live updates are unavailable; subscribe again shortly');
    if (!this.available) throw unavailable();
    const losses = this.#losses;
    const id = randomUUID();
    const taken = await this.#count.take(tenantId, id, this.limits.perTenant).catch((error: unknown) => {
      this.#log.warn({ err: error, tenantId }, 'could not count the tenant’s live streams');
      throw unavailable();
    });
    if (!taken) {
      throw clientError('SUBSCRIPTION_LIMIT', `At most ${this.limits.perTenant} open subscriptions per tenant`, { http: { status: 429 } });
    }
    let following = false;
    const heard: LiveChange[] = [];
    try {
      await this.#fanOut?.follow(tenantId).catch((error: unknown) => {
        this.#log.warn({ err: error, tenantId }, 'could not follow the tenant’s live changes');
        throw unavailable();
      });
      following = true;
      addTo(this.#opening, tenantId, heard);
      const topic = await read().finally(() => removeFrom(this.#opening, tenantId, heard));
      if (this.#losses !== losses || !this.available) throw unavailable();
      return this.#register(id, subscriber, topic, heard);
    } catch (error) {
      if (following) this.#fanOut?.unfollow(tenantId);
      this.#count.release(tenantId, id);
      throw error;
    }
  }

  #register<Event>(
    id: string,
    subscriber: LiveSubscriber,
    topic: LiveTopic<Event>,
    heard: readonly LiveChange[],
  ): AsyncIterableIterator<LiveMessage<Event>> {
    const now = Date.now();
    const stream: Stream = {
      id,
      subscriber,
      tenantId: subscriber.principal.tenantId,
      userId: subscriber.principal.kind === 'user' ? subscriber.principal.userId : undefined,
      topic: topic as LiveTopic<unknown>,
      queue: new MessageQueue<LiveMessage<unknown>>(() => this.#remove(stream)),
      snapshot: topic.snapshot === undefined ? undefined : parseSnapshot(topic.snapshot),
      openedAt: now,
      lastEventAt: now,
    };
    this.#add(stream);
    if (topic.first !== undefined) stream.queue.push({ event: topic.first });
    for (const change of heard) this.#offer(stream, change);
    return stream.queue as MessageQueue<LiveMessage<Event>>;
  }

  #add(stream: Stream): void {
    addTo(this.#byTopic, stream.topic.topic, stream);
    addTo(this.#byTenant, stream.tenantId, stream);
    if (stream.userId) addTo(this.#byUser, stream.userId, stream);
    if (stream.topic.agentId) addTo(this.#byAgent, stream.topic.agentId, stream);
  }

  /** Forgets the stream, once (ended here, or its client went away): its place and its follow are given back. */
  #remove(stream: Stream): void {
    if (!this.#byTenant.get(stream.tenantId)?.has(stream)) return;
    removeFrom(this.#byTopic, stream.topic.topic, stream);
    removeFrom(this.#byTenant, stream.tenantId, stream);
    if (stream.userId) removeFrom(this.#byUser, stream.userId, stream);
    if (stream.topic.agentId) removeFrom(this.#byAgent, stream.topic.agentId, stream);
    this.#count.release(stream.tenantId, stream.id);
    this.#fanOut?.unfollow(stream.tenantId);
  }

  #send(stream: Stream, event: unknown): void {
    if (stream.queue.size >= this.limits.maxQueued) {
      this.#end(stream, clientError('SUBSCRIPTION_ENDED', 'The client did not keep up with its events; subscribe again'));
      return;
    }
    stream.lastEventAt = Date.now();
    stream.queue.push({ event });
  }

  #end(stream: Stream, error: GraphQLError): void {
    this.#remove(stream);
    stream.queue.finish({ error });
  }

  #endAll(error: () => GraphQLError): void {
    for (const streams of [...this.#byTenant.values()]) for (const stream of [...streams]) this.#end(stream, error());
  }

  /**
   * A committed change of an agent or a task: to the streams of that object, the `agents:` streams of
   * the row's tenant, the streams that end with its agent's deletion, and the streams of the row's
   * tenant being opened (they are offered it once registered).
   */
  #deliver(payload: string): void {
    const change = parseLiveChange(payload);
    if (!change) {
      this.#log.warn('unreadable live change ignored');
      return;
    }
    for (const heard of this.#opening.get(change.tenantId) ?? []) heard.push(change);
    const streams = new Set(this.#byTopic.get(`${change.kind}:${change.id}`));
    if (change.kind === 'agent') {
      for (const stream of this.#byTopic.get(`agents:${change.tenantId}`) ?? []) streams.add(stream);
      if (change.status === 'DELETED') for (const stream of this.#byAgent.get(change.agentId) ?? []) streams.add(stream);
    }
    for (const stream of streams) this.#offer(stream, change);
  }

  /**
   * One change to one stream: its event if the change is of the stream's topic, then its end if the
   * change deleted the stream's agent. Not if the stream's subscribe-time read already saw the
   * change (its `first` told it), and never to a stream of another tenant: the per-event wall.
   */
  #offer(stream: Stream, change: LiveChange): void {
    if (stream.tenantId !== change.tenantId) {
      this.#log.error({ tenantId: stream.tenantId, changeTenantId: change.tenantId }, 'live change of another tenant withheld');
      return;
    }
    if (stream.snapshot && change.xid !== undefined && seenBy(stream.snapshot, change.xid)) return;
    const { topic } = stream;
    const ofTopic =
      topic.topic === `${change.kind}:${change.id}` || (change.kind === 'agent' && topic.topic === `agents:${change.tenantId}`);
    const event = !ofTopic || (change.status === 'DELETED' && !topic.deletions) ? undefined : topic.eventOf?.(change);
    if (event !== undefined) this.#send(stream, event);
    if (change.kind === 'agent' && change.status === 'DELETED' && topic.agentId === change.agentId) {
      this.#end(stream, clientError('AGENT_DELETED', 'The agent was deleted'));
    }
  }

  /** A tenant's freeze, unfreeze or deletion: its status streams hear it, and every stream it now refuses ends. */
  #policyChanged(tenantId: string, policy: TenantPolicy): void {
    const status = statusOf(policy);
    for (const stream of [...(this.#byTenant.get(tenantId) ?? [])]) {
      const tenantEvent = stream.topic.tenantEventOf;
      if (tenantEvent && stream.tenantStatus !== status) {
        stream.tenantStatus = status;
        this.#send(stream, tenantEvent(status));
      }
      this.#endIfRefused(stream);
    }
  }

  /** Whether the gate still admits the subscriber (freeze, deletion, feed unknown, lockdown); if not, the stream ends with its code. */
  #endIfRefused(stream: Stream): boolean {
    try {
      if (this.#gate.check(stream.subscriber.principal) === 'full') return false;
      this.#end(stream, clientError('TENANT_DELETION_PENDING', 'This tenant is awaiting deletion'));
    } catch (error) {
      this.#end(stream, isGraphQLError(error) ? error : clientError('SERVICE_UNAVAILABLE', 'Live updates are unavailable'));
    }
    return true;
  }

  /** The user's tokens may have ended (removed, suspended, role changed, session revoked): each of its streams asks the database. */
  async #userChanged(userId: string): Promise<void> {
    const streams = [...(this.#byUser.get(userId) ?? [])];
    await Promise.all(
      streams.map(async (stream) => {
        const live = await stream.subscriber.stillLive().catch((error: unknown) => {
          this.#log.warn({ err: error, userId }, 'could not re-check a live stream: closing it');
          return false;
        });
        if (!live) this.#end(stream, unauthenticated('The session behind this subscription has ended'));
      }),
    );
  }

  /** Every second: the gate (lockdown, a feed that cannot vouch), idle time and lifetime. */
  #sweep(): void {
    const now = Date.now();
    for (const streams of [...this.#byTenant.values()]) {
      for (const stream of [...streams]) {
        if (this.#endIfRefused(stream)) continue;
        if (now - stream.openedAt >= this.limits.maxLifetimeMs) {
          this.#end(stream, clientError('SUBSCRIPTION_ENDED', 'The subscription reached its longest life; subscribe again'));
        } else if (now - stream.lastEventAt >= this.limits.idleMs) {
          this.#end(stream, clientError('SUBSCRIPTION_ENDED', 'The subscription was idle too long; subscribe again'));
        }
      }
    }
  }
}

function statusOf(policy: TenantPolicy): TenantStatusName {
  if (policy.deletion === 'PENDING') return 'DELETION_PENDING';
  if (policy.deletion === 'DELETED') return 'DELETED';
  return policy.frozen ? 'FROZEN' : 'ACTIVE';
}

/** A tenant's status as this replica's freeze view knows it now. */
export function tenantStatusOf(gate: AccessGate, tenantId: string): TenantStatusName | undefined {
  const policy = gate.policies.policyOf(tenantId);
  return policy === 'unknown' ? undefined : statusOf(policy);
}

function addTo<T>(index: Map<string, Set<T>>, key: string, entry: T): void {
  let entries = index.get(key);
  if (!entries) {
    entries = new Set();
    index.set(key, entries);
  }
  entries.add(entry);
}

function removeFrom<T>(index: Map<string, Set<T>>, key: string, entry: T): void {
  const entries = index.get(key);
  if (!entries) return;
  entries.delete(entry);
  if (entries.size === 0) index.delete(key);
}
