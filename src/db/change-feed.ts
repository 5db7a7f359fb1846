import pg from 'pg';
import type { Logger } from '../shared/logger.ts';

/** A notification's text, as its trigger sent it (a tenant id, a user id, a small JSON object). */
export type ChangeListener = (payload: string) => void;

/**
 * The feed was lost (`listening` false) or is back (true). Either way, whatever was notified in
 * between was not heard: a listener drops what it remembered, and while the feed is lost it does not
 * vouch for anything it would have heard of.
 */
export type ResetListener = (listening: boolean) => void;

export interface ChangeFeedOptions {
  /** The app role's connection to the region's database. */
  appUrl: string;
  log: Logger;
  /** The region's name (logs). */
  region?: string;
}

/**
 * One region's change feed: the single connection on which this replica LISTENs to every channel
 * the region's triggers notify (tenant policy, user liveness, trusted documents, live updates).
 * Notifications are sent at commit and never for a rollback, so what arrives here happened.
 *
 * Listeners subscribe to channels and to resets. On loss the connection is retried after 200 ms,
 * then every second; a reset is told on loss and again when the feed is back (it may have missed
 * anything meanwhile, so its listeners start empty). While `listening` is false, the listeners must
 * fail closed: the freeze view refuses, the token memory vouches for nothing, the document cache
 * reads the database, live streams are closed.
 *
 * `query` runs a short transaction on the same connection, serialised with the others: a reload
 * that must not race its notifications (the freeze view's) reads there.
 */
export class ChangeFeed {
  readonly region: string | undefined;
  readonly #appUrl: string;
  readonly #log: Logger;
  readonly #channels = new Map<string, Set<ChangeListener>>();
  readonly #resets = new Set<ResetListener>();
  #client: pg.Client | undefined;
  #listening = false;
  #stopped = false;
  /** Serialises the connection's transactions (a reload and a change may arrive together). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ChangeFeedOptions) {
    this.#appUrl = options.appUrl;
    this.region = options.region;
    this.#log = options.log.child({ component: 'change-feed', ...(options.region ? { region: options.region } : {}) });
  }

  /** Whether the connection is up and LISTENs to every subscribed channel now. */
  get listening(): boolean {
    return this.#listening;
  }

  /**
   * Calls `listener` with each payload notified on `channel` from now on. Subscribe before `start`
   * (a channel added later is LISTENed to at once, but a notification sent before that is missed).
   * Returns the unsubscribe function.
   */
  subscribe(channel: string, listener: ChangeListener): () => void {
    return this.#subscribe(channel, listener).unsubscribe;
  }

  /**
   * Like `subscribe`, resolved once the connection LISTENs to `channel` (rejected if the feed is not
   * connected): from then on every commit's notification on it reaches `listener`.
   */
  async listen(channel: string, listener: ChangeListener): Promise<() => void> {
    if (!this.#listening) throw new Error('change feed not connected');
    const { unsubscribe, listening } = this.#subscribe(channel, listener);
    try {
      await listening;
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }

  /**
   * A channel's first listener LISTENs and its last one UNLISTENs (a channel no one follows is not
   * read). Both go through the transaction queue: a LISTEN sent inside another transaction would
   * wait for its commit and vanish with its rollback.
   */
  #subscribe(channel: string, listener: ChangeListener): { unsubscribe: () => void; listening: Promise<unknown> } {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`change feed: bad channel name ${channel}`);
    let listeners = this.#channels.get(channel);
    let listening: Promise<unknown> = Promise.resolve();
    if (!listeners) {
      listeners = new Set();
      this.#channels.set(channel, listeners);
      if (this.#listening) listening = this.#onConnection(`LISTEN ${channel}`);
    }
    listeners.add(listener);
    const own = listeners;
    const unsubscribe = () => {
      if (!own.delete(listener) || own.size > 0 || this.#channels.get(channel) !== own) return;
      this.#channels.delete(channel);
      if (this.#listening) void this.#onConnection(`UNLISTEN ${channel}`).catch(() => undefined);
    };
    return { unsubscribe, listening };
  }

  /** A LISTEN or UNLISTEN on the connection, between its transactions; its failure is the feed's loss. */
  #onConnection(statement: string): Promise<unknown> {
    const client = this.#client;
    const run = this.#queue.then(() => client?.query(statement));
    this.#queue = run.catch(() => undefined);
    return run.catch((error: Error) => {
      this.#lost(client, error);
      throw error;
    });
  }

  /** Calls `listener` on every loss and every return of the feed. Returns the unsubscribe function. */
  onReset(listener: ResetListener): () => void {
    this.#resets.add(listener);
    return () => this.#resets.delete(listener);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listening = false;
    await this.#client?.end().catch(() => undefined);
  }

  /** One transaction on the feed's connection, after the ones before it: `begin`, the settings (transaction-local), `sql`, `commit`. */
  query<Row>(sql: string, params: unknown[], settings: Record<string, string> = {}): Promise<Row[]> {
    const run = this.#queue.then(() => this.#transaction<Row>(sql, params, settings));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #transaction<Row>(sql: string, params: unknown[], settings: Record<string, string>): Promise<Row[]> {
    const client = this.#client;
    if (!client) throw new Error('change feed not connected');
    await client.query('begin');
    try {
      for (const [name, value] of Object.entries(settings)) await client.query('select set_config($1, $2, true)', [name, value]);
      const { rows } = await client.query(sql, params);
      await client.query('commit');
      return rows as Row[];
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#appUrl, application_name: 'fleetgate-change-feed' });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (!message.payload) return;
      for (const listener of this.#channels.get(message.channel) ?? []) this.#safely(() => listener(message.payload as string));
    });
    await client.connect();
    const channels = [...this.#channels.keys()];
    if (channels.length > 0) await client.query(channels.map((channel) => `LISTEN ${channel}`).join('; '));
    this.#client = client;
    this.#listening = true;
    // What was notified while no one listened is unknown: every listener starts from nothing.
    this.#reset(true);
    this.#log.info({ channels }, 'change feed listening');
  }

  #lost(client: pg.Client | undefined, error?: Error): void {
    if (!client || this.#client !== client || !this.#listening) return;
    this.#listening = false;
    this.#reset(false);
    this.#log.error({ err: error }, 'change feed lost; its listeners fail closed until it is back');
    client.end().catch(() => undefined);
    const retry = () => {
      if (this.#stopped) return;
      this.#connect().catch((cause: unknown) => {
        this.#log.warn({ err: cause }, 'change feed reconnect failed');
        setTimeout(retry, 1_000).unref();
      });
    };
    setTimeout(retry, 200).unref();
  }

  #reset(listening: boolean): void {
    for (const listener of this.#resets) this.#safely(() => listener(listening));
  }

  /** A listener's failure is its own: the others are still told. */
  #safely(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#log.error({ err: error }, 'change feed listener failed');
    }
  }
}
