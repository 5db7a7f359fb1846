import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { cpuTicks, idleShare } from './machine.ts';
import { type BackendCpu, cpuSince } from './postgres-cpu.ts';
import { AGENTS_PER_TENANT, type Fixtures, type TenantFixture } from './seed.ts';

/** The hot read every peer answers: the caller's first 20 agents, id, name and status. */
export const AGENTS_QUERY = `{ agents(first: ${AGENTS_PER_TENANT}) { edges { node { id name status } } } }`;
const QUERY = JSON.stringify({ query: AGENTS_QUERY });
const MAX_EXAMPLES = 5;

export interface LoadOptions {
  port: number;
  fixtures: Fixtures;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** The server's CPU time so far (µs), read at both ends of the window. */
  serverCpuMicros: () => Promise<number>;
  /** The database backends' CPU time so far, read at the same moments (bench/postgres-cpu.ts). */
  databaseCpu?: () => Promise<BackendCpu | null>;
  /** The request body (default: AGENTS_QUERY): fixed, or made per request for the tenant it is sent as. */
  body?: RequestBody;
  /** Checks each answer (default: checkPage, a clean page of the tenant's own agents). */
  check?: AnswerCheck;
  /** Extra request headers (e.g. the client app's name for a trusted document). */
  headers?: Record<string, string>;
}

export type RequestBody = string | ((tenant: TenantFixture) => string);

/** Whether an answer is right for the tenant it was sent as; counts the rows of other tenants it holds. */
export type AnswerCheck = (
  status: number,
  body: string,
  tenant: TenantFixture,
  agentOwner: ReadonlyMap<string, string>,
  /** The request body the answer is to. */
  sent: string,
) => { foreignRows: number; problem?: string };

/** One measurement window; requests answered during the warm-up are checked but not counted. */
export interface LoadResult {
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /**
   * The server process's CPU time per response completed in the window, in ms. Unlike throughput,
   * it hardly moves when other processes compete for the CPU, so it compares servers on a busy machine.
   */
  serverCpuMsPerRequest: number;
  /** The Postgres backends' CPU time per response completed in the window, in ms (NaN when /proc is not readable). */
  postgresCpuMsPerRequest: number;
  /** The part of it autovacuum workers used (included above). */
  autovacuumCpuMsPerRequest: number;
  /**
   * This process's CPU time per response completed in the window, in ms: the load generator's own
   * price (HTTP client and answer checks), paid on the same cores as the server's.
   */
  clientCpuMsPerRequest: number;
  /**
   * The share of the machine's CPU left idle in the window (NaN without /proc/stat). A closed loop
   * leaves CPU idle when one thread bounds it (a gateway's JavaScript runs on one) or when it waits
   * on something else: locks, the pool, the WAL's flushes.
   */
  idleShare: number;
  /** Responses checked, warm-up included. */
  checked: number;
  /** Responses that were not a clean page of the tenant's own agents (HTTP or GraphQL error, wrong size). */
  failed: number;
  /** Rows belonging to another tenant (or to no seeded tenant). */
  foreignRows: number;
  examples: string[];
}

/**
 * Closed-loop load: `concurrency` workers, each sending the next request as soon as the previous
 * answer is read, each request with a random tenant's token. Workers run through warm-up and
 * measurement without a pause, so the window starts at full concurrency; a request counts when it
 * starts and ends inside the window. Every response, warm-up included, is checked.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const result: LoadResult = {
    requests: 0,
    seconds: options.durationMs / 1000,
    latenciesMs: [],
    serverCpuMsPerRequest: Number.NaN,
    postgresCpuMsPerRequest: Number.NaN,
    autovacuumCpuMsPerRequest: Number.NaN,
    clientCpuMsPerRequest: Number.NaN,
    idleShare: Number.NaN,
    checked: 0,
    failed: 0,
    foreignRows: 0,
    examples: [],
  };
  const { tenants, agentOwner } = options.fixtures;
  let completedInWindow = 0;
  const cpuAtStart = delay(options.warmupMs).then(options.serverCpuMicros);
  const cpuAtEnd = delay(options.warmupMs + options.durationMs).then(options.serverCpuMicros);
  const databaseCpu = options.databaseCpu ?? (async () => null);
  const dbAtStart = delay(options.warmupMs).then(databaseCpu);
  const dbAtEnd = delay(options.warmupMs + options.durationMs).then(databaseCpu);
  const clientAtStart = delay(options.warmupMs).then(() => process.cpuUsage());
  const clientAtEnd = delay(options.warmupMs + options.durationMs).then(() => process.cpuUsage());
  const ticksAtStart = delay(options.warmupMs).then(cpuTicks);
  const ticksAtEnd = delay(options.warmupMs + options.durationMs).then(cpuTicks);
  const requestBody = options.body ?? QUERY;

  async function worker() {
    while (performance.now() < windowEnd) {
      const tenant = tenants[Math.floor(Math.random() * tenants.length)] as TenantFixture;
      const sent = performance.now();
      const sentBody = typeof requestBody === 'string' ? requestBody : requestBody(tenant);
      const { status, body } = await post(agent, options.port, tenant.token, sentBody, options.headers).catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      const received = performance.now();
      if (sent >= windowStart && received <= windowEnd) {
        result.requests += 1;
        result.latenciesMs.push(received - sent);
      }
      if (received >= windowStart && received <= windowEnd) completedInWindow += 1;
      result.checked += 1;
      const check = (options.check ?? checkPage)(status, body, tenant, agentOwner, sentBody);
      result.foreignRows += check.foreignRows;
      if (check.problem) {
        result.failed += 1;
        if (result.examples.length < MAX_EXAMPLES) result.examples.push(check.problem);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  result.serverCpuMsPerRequest = ((await cpuAtEnd) - (await cpuAtStart)) / 1000 / completedInWindow;
  const [clientStart, clientEnd] = [await clientAtStart, await clientAtEnd];
  result.clientCpuMsPerRequest = (clientEnd.user + clientEnd.system - clientStart.user - clientStart.system) / 1000 / completedInWindow;
  result.idleShare = idleShare(await ticksAtStart, await ticksAtEnd) ?? Number.NaN;
  const [dbStart, dbEnd] = [await dbAtStart, await dbAtEnd];
  if (dbStart && dbEnd) {
    result.postgresCpuMsPerRequest = cpuSince(dbStart, dbEnd) / 1000 / completedInWindow;
    result.autovacuumCpuMsPerRequest = cpuSince(dbStart, dbEnd, 'autovacuum') / 1000 / completedInWindow;
  }
  return result;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends every tenant's request once (and checks it), `concurrency` at a time, as the long-running
 * replica a user deploys has met its tenants before anyone measures it: what a tenant's first
 * request pays once per replica (its trusted-document lookup, its token check) is not spread over
 * a few seconds of rounds. Returns how long the pass took; throws on a wrong answer.
 */
export async function meetEveryTenant(
  options: Pick<LoadOptions, 'port' | 'fixtures' | 'concurrency' | 'body' | 'headers' | 'check'>,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const started = performance.now();
  const queue = [...options.fixtures.tenants];
  const worker = async () => {
    for (let tenant = queue.pop(); tenant; tenant = queue.pop()) {
      const body = options.body === undefined ? QUERY : typeof options.body === 'string' ? options.body : options.body(tenant);
      const answer = await post(agent, options.port, tenant.token, body, options.headers);
      const check = (options.check ?? checkPage)(answer.status, answer.body, tenant, options.fixtures.agentOwner, body);
      if (check.problem) throw new Error(`meeting tenant ${tenant.tenantId}: ${check.problem}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return performance.now() - started;
}

function post(
  agent: Agent,
  port: number,
  token: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface PageResponse {
  data?: { agents?: { edges?: { node?: { id?: unknown } }[] } };
  errors?: { message?: string }[];
}

/**
 * A good answer is HTTP 200 without errors and exactly the tenant's AGENTS_PER_TENANT agents. The
 * count matters as much as ownership: an empty page (say, the RLS setting missing) has no foreign
 * row but is still wrong, and would otherwise look fast.
 */
export const checkPage: AnswerCheck = (status, body, { tenantId }, agentOwner) => {
  let parsed: PageResponse;
  try {
    parsed = JSON.parse(body) as PageResponse;
  } catch {
    return { foreignRows: 0, problem: `HTTP ${status}, not JSON: ${body.slice(0, 200)}` };
  }
  const edges = parsed.data?.agents?.edges ?? [];
  let foreignRows = 0;
  for (const edge of edges) {
    if (agentOwner.get(agentIdOf(edge.node?.id, agentOwner)) !== tenantId) foreignRows += 1;
  }
  if (foreignRows > 0) return { foreignRows, problem: `tenant ${tenantId} received ${foreignRows} foreign row(s)` };
  if (status !== 200 || parsed.errors?.length) {
    return { foreignRows, problem: `HTTP ${status}: ${parsed.errors?.map((e) => e.message).join('; ') ?? body.slice(0, 200)}` };
  }
  if (edges.length !== AGENTS_PER_TENANT) return { foreignRows, problem: `tenant ${tenantId} received ${edges.length} agents` };
  return { foreignRows };
};

/** An agent's uuid from a Relay global id (`Agent:<uuid>`, base64) or, from a peer that exposes the column, the uuid itself. */
export function agentIdOf(id: unknown, agentOwner: ReadonlyMap<string, string>): string {
  if (typeof id !== 'string') return '';
  if (agentOwner.has(id)) return id;
  return Buffer.from(id, 'base64')
    .toString('utf8')
    .replace(/^Agent:/, '');
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
