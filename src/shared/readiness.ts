import type { MikroORM } from '@mikro-orm/postgresql';
import type { KeyProvider } from '../keys/index.ts';
import type { Logger } from './logger.ts';

/** What readiness reads of the access gate (src/modules/policy/access-gate.ts). */
interface GateState {
  readonly lockedDown: boolean;
  readonly policies: { isCurrent(): boolean };
}

/** What readiness asks of a container engine (src/modules/provisioning/container-runtime.ts). */
interface Pingable {
  ping(): Promise<unknown>;
}

export type CheckState = 'ok' | 'down' | 'draining' | 'locked-down' | 'unconfigured';

export interface ReadinessReport {
  /** 'ok': ready; 'degraded': ready, but an optional dependency (key provider, container engine) is down; otherwise not ready. */
  status: 'ok' | 'degraded' | 'draining' | 'locked-down' | 'not-ready';
  ready: boolean;
  checks: Record<string, CheckState>;
}

/** How long one dependency may take to answer a probe before it counts as down. */
const PROBE_TIMEOUT_MS = 1_000;
/** The reported-only dependencies (Vault, Docker) are asked at most this often, however often load balancers probe. */
const OPTIONAL_CHECK_TTL_MS = 10_000;

/**
 * What `/readyz` answers: ready exactly while tenant requests can be served. Not ready when this
 * replica is shutting down (turned first, before it stops accepting), in lockdown, without a live
 * freeze feed (requests are refused then too: fail closed), or when a region's database does not
 * answer `select 1` within a second. The key provider and the container engines are reported but do
 * not take the replica out (only credential and memory operations need the first, and they fail
 * closed on their own; agent jobs wait for the second); unconfigured ones are reported as such.
 * One exception: a key provider that logs in (Vault AppRole or Kubernetes auth) and holds no live
 * token takes the replica out (`keyProviderLogin: down`) until a login succeeds. Its credentials are
 * this replica's own (a rotated secret id, a bad role in a new release), so another replica may well
 * be able to serve, and a rollout with broken Vault credentials stops at its first replica.
 * Live updates' Redis fan-out (`liveFanOut`) is reported too, and degrades without taking the replica
 * out: only subscriptions need it (they are refused, SERVICE_UNAVAILABLE), and every replica shares
 * the one Redis, so taking them out would stop queries and mutations for a live-updates outage.
 */
export class Readiness {
  #draining = false;
  #inFlight: Promise<ReadinessReport> | undefined;
  #optional: { at: number; answer: Promise<[CheckState, CheckState]> } | undefined;

  constructor(
    private readonly deps: {
      gate: GateState;
      orms: MikroORM[];
      keyProvider?: KeyProvider;
      /** A key provider that logs in (Vault AppRole, Kubernetes): unready while it holds no live token. */
      keyProviderLogin?: { readonly authenticated: boolean };
      engines?: Pingable[];
      /** With Redis: live updates' fan-out (RedisFanOut), reported and degrading when it cannot vouch for changes. */
      liveFanOut?: { readonly listening: boolean };
      log: Logger;
    },
  ) {}

  /** From now on `/readyz` answers 503 `draining`; there is no way back (the process is stopping). */
  drain(): void {
    if (!this.#draining) this.deps.log.info({ component: 'readiness' }, 'draining: /readyz now answers 503');
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** One probe at a time: concurrent callers share its answer. */
  check(): Promise<ReadinessReport> {
    this.#inFlight ??= this.#check().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #check(): Promise<ReadinessReport> {
    const { gate } = this.deps;
    const [database, [keyProvider, docker]] = await Promise.all([this.#databases(), this.#optionalChecks()]);
    const checks: Record<string, CheckState> = {
      shutdown: this.#draining ? 'draining' : 'ok',
      lockdown: gate.lockedDown ? 'locked-down' : 'ok',
      freezeFeed: gate.policies.isCurrent() ? 'ok' : 'down',
      database,
      keyProviderLogin: !this.deps.keyProviderLogin ? 'unconfigured' : this.deps.keyProviderLogin.authenticated ? 'ok' : 'down',
      keyProvider,
      docker,
      liveFanOut: !this.deps.liveFanOut ? 'unconfigured' : this.deps.liveFanOut.listening ? 'ok' : 'down',
    };
    const status: ReadinessReport['status'] = this.#draining
      ? 'draining'
      : gate.lockedDown
        ? 'locked-down'
        : checks.freezeFeed !== 'ok' || database !== 'ok' || checks.keyProviderLogin === 'down'
          ? 'not-ready'
          : keyProvider === 'down' || docker === 'down' || checks.liveFanOut === 'down'
            ? 'degraded'
            : 'ok';
    return { status, ready: status === 'ok' || status === 'degraded', checks };
  }

  async #databases(): Promise<CheckState> {
    const answers = await Promise.all(this.deps.orms.map((orm) => withTimeout(orm.em.getConnection().execute('select 1'))));
    return answers.every(Boolean) ? 'ok' : 'down';
  }

  #optionalChecks(): Promise<[CheckState, CheckState]> {
    if (!this.#optional || Date.now() - this.#optional.at > OPTIONAL_CHECK_TTL_MS) {
      this.#optional = { at: Date.now(), answer: Promise.all([this.#keyProvider(), this.#engines()]) };
    }
    return this.#optional.answer;
  }

  async #engines(): Promise<CheckState> {
    const engines = this.deps.engines ?? [];
    if (engines.length === 0) return 'unconfigured';
    const answers = await Promise.all(engines.map((engine) => withTimeout(engine.ping())));
    return answers.every(Boolean) ? 'ok' : 'down';
  }

  async #keyProvider(): Promise<CheckState> {
    if (!this.deps.keyProvider) return 'unconfigured';
    return (await withTimeout(this.deps.keyProvider.status())) ? 'ok' : 'down';
  }
}

/** True when `promise` resolved within the probe timeout; false when it failed or took longer. */
async function withTimeout(promise: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
