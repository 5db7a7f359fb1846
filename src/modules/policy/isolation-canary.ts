import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Principal } from '../../auth/principal.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import { enterTenant, forkForPrincipal, forkForTenant, TENANT_SETTING } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import manifest from '../../generated/operations/persisted-documents.json' with { type: 'json' };
import { encodeGlobalId } from '../../shared/global-id.ts';
import { newId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { Agent, createAgent } from '../agents/index.ts';
import { recordAudit } from '../audit/index.ts';
import { type ContainerRuntime, ImageAllowList, loadAgent } from '../provisioning/index.ts';
import { signUp, Tenant } from '../tenants/index.ts';
import { User } from '../users/index.ts';
import type { AccessGate } from './access-gate.ts';
import type { CanaryReason, CanaryRun } from './canary-run.ts';
import {
  insertCanaryRun,
  pruneCanaryRuns,
  recordedRuntime,
  roleFlags,
  tenantTables,
  tryImplantAgent,
  visibleAgentsOf,
} from './isolation-canary.store.ts';

const CANARY_A = '__canary-a';
const CANARY_B = '__canary-b';
/** How the API probes' request ids begin, in their log lines and the canary tenants' audit events. */
export const CANARY_REQUEST_ID_PREFIX = 'isolation-canary-';
const documentIds = Object.fromEntries(
  Object.entries(manifest as Record<string, string>).map(([id, text]) => [/^\w+ (\w+)/.exec(text)?.[1] ?? '', id]),
);

interface Canaries {
  a: { tenantId: string; ownerId: string };
  b: { tenantId: string; agentId: string };
}

export interface CanaryResult {
  exposures: string[];
}

/** One exposure: its fixed code (stored, shown to operators) and its text (logs, audit, the lockdown reason). */
interface Finding {
  code: CanaryReason;
  detail: string;
}

/** How long the history keeps runs (pruned by the canary after each of its runs). */
export interface CanaryHistoryRetention {
  /** Every replica's runs older than this go (default 30). */
  days: number;
  /** This replica's runs beyond its newest so many go: bounds the table under a short canary period. */
  perReplica: number;
}

/** 30 days; at most 50,000 runs per replica (30 days at the default period of a minute is 43,200). */
export const DEFAULT_HISTORY: CanaryHistoryRetention = { days: 30, perReplica: 50_000 };

/**
 * The isolation self-test. Two synthetic tenants; as A it tries to read and write B's agent
 * through the API (persisted operations, like an integrator) and directly in the database under
 * A's RLS setting, then checks the catalog guarantees the walls rely on. Any exposure is systemic
 * (the walls are shared by every tenant): the gateway is locked down at once, the canary tenants
 * are frozen, `/health` turns 503, and the finding is logged and audited.
 */
export class IsolationCanary {
  #canaries: Canaries | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #log: Logger;

  constructor(
    private readonly deps: {
      orm: MikroORM;
      appUrl: string;
      tokens: TokenIssuer;
      gate: AccessGate;
      metrics: Metrics;
      log: Logger;
      fetch: (url: string, init: RequestInit) => Promise<Response>;
      /** The region's container engine when it runs agents: their sandbox levels are checked too. */
      engine?: ContainerRuntime;
      /** This replica's name in the history (isolation_canary_runs.replica): operators see it, tenants do not. */
      replica: string;
      /** The history's retention; default DEFAULT_HISTORY. */
      history?: CanaryHistoryRetention;
    },
  ) {
    this.#log = deps.log.child({ component: 'isolation-canary' });
  }

  /** Runs once now and then every `intervalMs` (0: only now). */
  async start(intervalMs: number): Promise<CanaryResult> {
    const result = await this.runOnce();
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.runOnce(), intervalMs);
      this.#timer.unref();
    }
    return result;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * One run: every check in turn, then the outcome kept three ways: this replica's last run (the
   * gate, `isolationCanary`), the history in the database (isolationCanaryRuns; a failure to write it
   * is logged and changes nothing else) and the metrics. An exposure locks the gateway down first.
   */
  async runOnce(): Promise<CanaryResult> {
    const started = performance.now();
    const ranAt = new Date();
    let step: CanaryReason = 'SETUP_FAILED';
    let findings: Finding[];
    try {
      this.#canaries ??= await this.#ensureCanaries();
      const canaries = this.#canaries;
      step = 'CATALOG_CHECK_FAILED';
      findings = await this.#checkCatalog();
      step = 'DATABASE_PROBE_FAILED';
      findings.push(...(await this.#probeDatabase(canaries)));
      step = 'API_PROBE_FAILED';
      findings.push(...(await this.#probeApi(canaries)));
      step = 'SANDBOX_CHECK_FAILED';
      findings.push(...(await this.#checkSandboxes()));
    } catch (error) {
      this.#log.error({ err: error, reason: step }, 'isolation canary could not run');
      this.deps.metrics.canaryRuns.inc({ result: 'error' });
      await this.#record({ ranAt, outcome: 'ERROR', reason: step, durationMs: elapsed(started) });
      return { exposures: [] };
    }
    const exposures = findings.map((finding) => finding.detail);
    const first = findings[0];
    if (!first) {
      this.deps.metrics.canaryRuns.inc({ result: 'ok' });
      await this.#record({ ranAt, outcome: 'OK', reason: null, durationMs: elapsed(started) });
      return { exposures };
    }
    this.deps.gate.lockDown(exposures.join('; '));
    this.deps.metrics.canaryRuns.inc({ result: 'exposed' });
    await this.#record({ ranAt, outcome: 'EXPOSED', reason: first.code, durationMs: elapsed(started) });
    await this.#freezeCanaries(exposures).catch((error: unknown) => this.#log.error({ err: error }, 'could not freeze canary tenants'));
    return { exposures };
  }

  /**
   * This replica's last run (the gate), then the history: appended and pruned in one operator
   * transaction of the canary's own (the table admits operators only), never failing the run.
   */
  async #record(run: CanaryRun): Promise<void> {
    this.deps.gate.recordCanaryRun(run);
    const operator: Principal = { kind: 'operator', operatorId: 'isolation-canary' };
    const keep = this.deps.history ?? DEFAULT_HISTORY;
    try {
      const pruned = await forkForPrincipal(this.deps.orm, operator).transactional(async (em) => {
        await insertCanaryRun(em, { ...run, id: newId(), replica: this.deps.replica });
        return pruneCanaryRuns(em, this.deps.replica, keep);
      });
      if (pruned > 0) this.#log.debug({ pruned }, 'isolation canary history pruned');
    } catch (error) {
      this.#log.error({ err: error }, 'isolation canary run could not be recorded in the history');
    }
  }

  async #checkCatalog(): Promise<Finding[]> {
    return this.#asAppRole(null, async (client) => {
      const found: Finding[] = [];
      const role = await roleFlags(client);
      if (role?.rolsuper) found.push({ code: 'APP_ROLE_SUPERUSER', detail: 'app role is superuser' });
      if (role?.rolbypassrls) found.push({ code: 'APP_ROLE_BYPASSES_RLS', detail: 'app role bypasses RLS' });
      for (const table of await tenantTables(client)) {
        if (!table.relrowsecurity || !table.relforcerowsecurity) {
          found.push({ code: 'RLS_NOT_FORCED', detail: `RLS not enabled and forced on ${table.relname}` });
        }
      }
      return found;
    });
  }

  /**
   * Every running agent container, as the engine reports it, against what the database says: a
   * container under another level than its agent requires (asked for by the agent or its tenant's
   * plan), or than the API shows (`Agent.sandbox.runtime`), is an exposure like a broken wall: the
   * sandbox was swapped or downgraded outside the provisioner, which never does either. A default
   * level is not a requirement (an agent started before runsc was registered keeps RUNC until its restart).
   */
  async #checkSandboxes(): Promise<Finding[]> {
    const engine = this.deps.engine;
    if (!engine) return [];
    const found: Finding[] = [];
    for (const container of await engine.list()) {
      if (!container.running || !container.tenantId || !container.agentId) continue;
      const [state, agent, recorded] = await Promise.all([
        engine.inspect(container.agentId),
        loadAgent(forkForTenant(this.deps.orm, container.tenantId), container.agentId),
        this.#recordedRuntime(container.tenantId, container.agentId),
      ]);
      if (!state?.running || !agent) continue;
      if (agent.sandbox && state.sandbox !== agent.sandbox) {
        found.push({
          code: 'SANDBOX_DOWNGRADED',
          detail: `sandbox: agent ${agent.id} requires ${agent.sandbox} but its container runs under ${state.sandbox}`,
        });
      } else if (recorded && state.sandbox !== recorded) {
        found.push({
          code: 'SANDBOX_MISREPORTED',
          detail: `sandbox: agent ${agent.id} runs under ${state.sandbox} but the API shows ${recorded}`,
        });
      }
    }
    return found;
  }

  async #recordedRuntime(tenantId: string, agentId: string): Promise<string | null> {
    return this.#inTenant(tenantId, (em) => recordedRuntime(em, agentId));
  }

  async #probeDatabase({ a, b }: Canaries): Promise<Finding[]> {
    return this.#asAppRole(a.tenantId, async (client) => {
      const found: Finding[] = [];
      if ((await visibleAgentsOf(client, b.tenantId, b.agentId)) !== 0) {
        found.push({ code: 'DATABASE_CROSS_TENANT_READ', detail: 'database: A read B’s agents under A’s RLS setting' });
      }
      const implant = await tryImplantAgent(client, b.tenantId);
      if (implant !== '42501')
        found.push({ code: 'DATABASE_CROSS_TENANT_WRITE', detail: 'database: A wrote a row into B under A’s RLS setting' });
      return found;
    });
  }

  async #probeApi({ a, b }: Canaries): Promise<Finding[]> {
    const token = (await this.deps.tokens.issue({ kind: 'user', tenantId: a.tenantId, userId: a.ownerId, role: 'OWNER' }, '5m')).reveal();
    const agentB = encodeGlobalId('Agent', b.agentId);
    // One request id for the run's probes: their log lines (refusals, at info) say whose they are.
    const requestId = `${CANARY_REQUEST_ID_PREFIX}${newId()}`;
    const call = async (operation: string, variables: Record<string, unknown>) => {
      const response = await this.deps.fetch('http://canary/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId },
        body: JSON.stringify({ documentId: documentIds[operation], variables }),
      });
      return JSON.stringify(await response.json());
    };
    const found: Finding[] = [];
    if ((await call('GetAgent', { id: agentB })).includes('__canary-b-agent')) {
      found.push({ code: 'API_CROSS_TENANT_READ', detail: 'api: A read B’s agent by id' });
    }
    if ((await call('ListAgents', { first: 100 })).includes(agentB))
      found.push({ code: 'API_CROSS_TENANT_LIST', detail: 'api: A listed B’s agent' });
    if (!(await call('UpdateAgentRecord', { input: { id: agentB, description: 'canary write' } })).includes('NOT_FOUND')) {
      found.push({ code: 'API_CROSS_TENANT_WRITE', detail: 'api: A’s update of B’s agent was not refused as not found' });
    }
    return found;
  }

  /** The canary tenants, created on first run; found by name (operators see them in the tenant list). */
  async #ensureCanaries(): Promise<Canaries> {
    const a = (await this.#findCanary(CANARY_A)) ?? (await this.#createCanary(CANARY_A));
    const b = (await this.#findCanary(CANARY_B)) ?? (await this.#createCanary(CANARY_B));
    const owner = await this.#inTenant(a, (em) => em.findOne(User, { role: 'OWNER' }, { orderBy: { id: 'asc' } }));
    let agent = await this.#inTenant(b, (em) => em.findOne(Agent, { name: '__canary-b-agent' }));
    if (!agent) {
      const bOwner = await this.#inTenant(b, (em) => em.findOne(User, { role: 'OWNER' }, { orderBy: { id: 'asc' } }));
      const principal: Principal = { kind: 'user', tenantId: b, userId: bOwner?.id ?? '', role: 'OWNER' };
      agent = await forkForPrincipal(this.deps.orm, principal).transactional((em) =>
        // A record only: the canary probes data isolation, it never runs a container.
        createAgent(
          {
            principal,
            em,
            requestId: 'canary',
            log: this.#log,
            agentRuntime: { allowList: new ImageAllowList([{ image: 'fleetgate/canary' }]) },
          },
          { name: '__canary-b-agent', image: 'fleetgate/canary' },
          { start: false },
        ),
      );
    }
    if (!owner) throw new Error('canary tenant A has no owner');
    return { a: { tenantId: a, ownerId: owner.id }, b: { tenantId: b, agentId: agent.id } };
  }

  async #findCanary(name: string): Promise<string | undefined> {
    const em = forkForPrincipal(this.deps.orm, { kind: 'operator', operatorId: 'canary' });
    const tenant = await em.transactional((tx) =>
      tx.findOne(Tenant, { name }, { filters: { [TENANT_FILTER]: false }, orderBy: { id: 'asc' } }),
    );
    return tenant?.id;
  }

  async #createCanary(name: string): Promise<string> {
    const em = forkForPrincipal(this.deps.orm, { kind: 'anonymous' });
    const scope = { principal: { kind: 'anonymous' } as const, requestId: 'canary', log: this.#log };
    const { tenant } = await em.transactional((tx) =>
      signUp(
        { ...scope, em: tx },
        { tenantName: name, owner: { email: `${name}@canary.invalid`, name } },
        this.deps.tokens,
        'isolation canary',
      ),
    );
    return tenant.id;
  }

  #inTenant<T>(tenantId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
    return forkForTenant(this.deps.orm, tenantId).transactional(work);
  }

  async #freezeCanaries(exposures: string[]): Promise<void> {
    if (!this.#canaries) return;
    const operator: Principal = { kind: 'operator', operatorId: 'isolation-canary' };
    for (const tenantId of [this.#canaries.a.tenantId, this.#canaries.b.tenantId]) {
      await forkForPrincipal(this.deps.orm, operator).transactional(async (em) => {
        const tenant = await em.findOneOrFail(Tenant, { id: tenantId }, { filters: { [TENANT_FILTER]: false } });
        tenant.status = 'FROZEN';
        tenant.frozenReason = 'isolation canary found an exposure';
        await enterTenant(em, tenantId);
        recordAudit(
          { principal: operator, em, requestId: 'canary', log: this.#log },
          { tenantId, action: 'isolation.exposure', outcome: 'FAILED', detail: { exposures } },
        );
        await em.flush();
      });
      this.deps.metrics.freezeEvents.inc({ action: 'freeze', cause: 'canary' });
    }
  }

  async #asAppRole<T>(tenantId: string | null, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.deps.appUrl, application_name: 'fleetgate-canary' });
    await client.connect();
    try {
      await client.query('begin');
      if (tenantId) await client.query('select set_config($1, $2, true)', [TENANT_SETTING, tenantId]);
      return await work(client);
    } finally {
      await client.query('rollback').catch(() => undefined);
      await client.end();
    }
  }
}

function elapsed(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}
