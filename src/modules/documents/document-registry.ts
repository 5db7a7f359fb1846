import type { MikroORM } from '@mikro-orm/postgresql';
import type { ChangeFeed } from '../../db/change-feed.ts';
import type { Region, Regions } from '../../db/regions.ts';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';
import { type MaybePromise, whenSettled } from '../../shared/maybe-promise.ts';
import type { FoundDocument, TrustedDocumentLookup } from '../policy/index.ts';
import { type AppOwner, insertVersion, type LiveDocuments, liveDocuments } from './client-app.store.ts';

/** The channel the triggers of migrations/0032 notify: the tenant id whose apps changed, or 'platform'. */
const CHANNEL = 'fleetgate_documents';
/** Tenants whose apps one replica remembers at most (the platform's are always kept); the oldest goes first. */
const MAX_CACHED_TENANTS = 50_000;

/**
 * An app's live versions as remembered: by version (newest first), then hash, each the FoundDocument a
 * lookup answers, built once per read (no object made per request; they are shared, never changed).
 */
type Published = ReadonlyMap<string, ReadonlyMap<string, FoundDocument>>;
type Remembered = MaybePromise<Published | null>;

export interface DocumentRegistryOptions {
  regions: Regions;
  /** Each region's change feed, in the order of `regions.all`. */
  feeds: readonly ChangeFeed[];
  log: Logger;
  /** Tests only: no cache, every lookup reads the database. */
  withoutCache?: boolean;
}

/**
 * Which trusted documents a request may run, per replica. A lookup reads the live (not retired)
 * documents of one app once and remembers them; every replica LISTENs to each region's
 * `fleetgate_documents` and forgets a tenant's apps (or the platform's) as soon as a version is
 * published or retired (through the region's change feed, src/db/change-feed.ts), so a retired hash
 * stops working everywhere within the notification's latency (milliseconds). While a region's feed is down, lookups there read the database every
 * time (never a possibly stale answer), and a reconnect forgets everything it may have missed.
 *
 * A tenant's apps are read under that tenant's settings (RLS, search path) in its own region; the
 * platform's apps in the home region, as an operator (operators' metadata: no tenant's rows).
 */
export class DocumentRegistry implements TrustedDocumentLookup {
  readonly #regions: Regions;
  readonly #log: Logger;
  readonly #withoutCache: boolean;
  /**
   * By tenant id, then app name: the answer once read (null: no such app), or the read in flight. Keyed
   * by the principal's own tenant id string (hashed once, where a `<tenant>/<app>` key was built and
   * hashed per request), and a notification forgets one tenant with one delete.
   */
  readonly #tenants = new Map<string, Map<string, Remembered>>();
  /** The platform's apps, by name: never evicted by tenants coming and going. */
  #platform = new Map<string, Remembered>();
  readonly #feeds: readonly ChangeFeed[];
  readonly #unsubscribe: (() => void)[] = [];
  /** Bumped by every notification: a load that began before one must not be remembered. */
  #generation = 0;

  constructor(options: DocumentRegistryOptions) {
    this.#regions = options.regions;
    this.#log = options.log.child({ component: 'document-registry' });
    this.#withoutCache = options.withoutCache ?? false;
    this.#feeds = options.feeds;
  }

  /** Follows every region's feed: a notification forgets its owner's apps, a loss or a return forgets everything. */
  start(): void {
    for (const feed of this.#feeds) {
      this.#unsubscribe.push(
        feed.subscribe(CHANNEL, (owner) => this.#forget(owner)),
        feed.onReset((listening) => {
          this.#forget(undefined);
          if (!listening) this.#log.warn({ region: feed.region }, 'trusted documents are read from the database until the feed is back');
        }),
      );
    }
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /** How many apps' documents are remembered now (tests). */
  get cachedApps(): number {
    let apps = this.#platform.size;
    for (const each of this.#tenants.values()) apps += each.size;
    return apps;
  }

  /**
   * The document of `hash` in app `app` (a given `version` of it, or any live one, newest first) as
   * `tenantId` may run it: the tenant's own app of that name, else the platform's. Anonymous callers
   * (no tenant) reach platform apps only. Null when no live version of the app holds the hash.
   */
  find(tenantId: string | undefined, app: string, version: string | undefined, hash: string): MaybePromise<FoundDocument | null> {
    if (tenantId === undefined) return this.#platformFind(app, version, hash);
    if (this.#regions.all.length === 1) return this.#tenantFind(this.#regions.home, tenantId, app, version, hash);
    return this.#regions.locate(tenantId).then((region) => (region ? this.#tenantFind(region, tenantId, app, version, hash) : null));
  }

  /** The tenant's own app of that name if it has one (the platform's is not consulted then), else the platform's. */
  #tenantFind(
    region: Region,
    tenantId: string,
    app: string,
    version: string | undefined,
    hash: string,
  ): MaybePromise<FoundDocument | null> {
    return whenSettled(this.#documents(region, { kind: 'tenant', tenantId }, app), (own) =>
      own ? pick(own, version, hash) : this.#platformFind(app, version, hash),
    );
  }

  #platformFind(app: string, version: string | undefined, hash: string): MaybePromise<FoundDocument | null> {
    return whenSettled(this.#documents(this.#regions.home, { kind: 'platform' }, app), (platform) =>
      platform ? pick(platform, version, hash) : null,
    );
  }

  /**
   * Publishes the gateway's own operations (the manifest of schema/operations/) as a platform app
   * version, once: a fresh production deployment runs them by hash from its first start.
   */
  async seedPlatformApp(app: string, version: string, documents: Record<string, string>): Promise<void> {
    const em = forkForOperator(this.#regions.home.orm);
    const created = await em.transactional((tx) =>
      insertVersion(tx, { kind: 'platform' }, { name: app, version, documents, publishedBy: 'fleetgate' }),
    );
    if (created) this.#log.info({ app, version, documents: Object.keys(documents).length }, 'platform app version seeded');
  }

  /** What is remembered of one app, as a value once read (no promise to wait for on the hot path), else the read. */
  #documents(region: Region, owner: AppOwner, app: string): Remembered {
    const feed = this.#feeds.length === 1 ? this.#feeds[0] : this.#feeds[this.#regions.all.indexOf(region)];
    if (this.#withoutCache || feed?.listening !== true) return read(region.orm, owner, app);
    const remembered = this.#appsOf(owner);
    const cached = remembered.get(app);
    if (cached !== undefined) return cached;
    const generation = this.#generation;
    const load = read(region.orm, owner, app);
    remembered.set(app, load);
    // Remembered as a value once read, unless a notification arrived meanwhile: it may describe a change the read missed.
    load.then(
      (documents) => {
        if (remembered.get(app) !== load) return;
        if (this.#generation === generation) remembered.set(app, documents);
        else remembered.delete(app);
      },
      () => {
        if (remembered.get(app) === load) remembered.delete(app);
      },
    );
    return load;
  }

  /** The platform's apps, or one tenant's (made on its first lookup; the oldest tenant makes room when full). */
  #appsOf(owner: AppOwner): Map<string, Remembered> {
    if (owner.kind === 'platform') return this.#platform;
    let apps = this.#tenants.get(owner.tenantId);
    if (!apps) {
      if (this.#tenants.size >= MAX_CACHED_TENANTS) {
        const oldest = this.#tenants.keys().next();
        if (!oldest.done) this.#tenants.delete(oldest.value);
      }
      apps = new Map();
      this.#tenants.set(owner.tenantId, apps);
    }
    return apps;
  }

  /** Drops what is remembered of one tenant's apps, of the platform's, or (undefined) of all. */
  #forget(owner: string | undefined): void {
    this.#generation += 1;
    if (owner === undefined) this.#tenants.clear();
    if (owner === undefined || owner === 'platform') this.#platform = new Map();
    else this.#tenants.delete(owner);
  }
}

function read(orm: MikroORM, owner: AppOwner, app: string): Promise<Published | null> {
  const em = owner.kind === 'tenant' ? forkForTenant(orm, owner.tenantId) : forkForOperator(orm);
  return em
    .transactional((tx) => liveDocuments(tx, owner, app))
    .then((documents) => documents && publishedOf(documents, app, owner.kind === 'platform'));
}

function publishedOf(documents: LiveDocuments, app: string, platform: boolean): Published {
  return new Map(
    [...documents].map(([version, texts]) => [
      version,
      new Map([...texts].map(([hash, document]) => [hash, { document, app, version, platform }])),
    ]),
  );
}

/** The document of `hash` in `version`, or in the newest live version that holds it. */
function pick(published: Published, version: string | undefined, hash: string): FoundDocument | null {
  if (version !== undefined) return published.get(version)?.get(hash) ?? null;
  for (const documents of published.values()) {
    const found = documents.get(hash);
    if (found !== undefined) return found;
  }
  return null;
}
