import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import manifest from '../src/generated/operations/persisted-documents.json' with { type: 'json' };
import type { GraphqlWsSettings } from '../src/request/graphql-ws.ts';

type ReplicaPolicy = NonNullable<Parameters<typeof startSecondReplica>[1]>['policy'];

import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery, createTestDatabase } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway, startSecondReplica } from './support/gateway.ts';
import { DeleteAgent, RevokeApiKey } from './support/operations.ts';
import { freePorts } from './support/ports.ts';
import { waitUntil } from './support/wait.ts';

const AGENT = 'subscription ($agentId: ID!) { agentStatusChanged(agentId: $agentId) { agentId status at } }';
const TENANT = 'subscription { tenantStatus { status at } }';
const REMOVE_MEMBER = 'mutation ($input: RemoveMemberInput!) { removeMember(input: $input) }';
/** agentStatusChanged as the platform app publishes it. */
const AGENT_BY_HASH = Object.keys(manifest).find((hash) =>
  manifest[hash as keyof typeof manifest].startsWith('subscription AgentStatusChanged'),
) as string;
const uuidOf = (globalId: string) => (decodeGlobalId(globalId) as { id: string }).id;

interface Result {
  data?: Record<string, unknown> | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}
interface Close {
  code: number;
  reason: string;
}

/** One gateway's HTTP server on a free loopback port, graphql-ws served on its upgrades as main.ts does. */
async function listen(fleetgate: Gateway['fleetgate'], settings: GraphqlWsSettings = {}) {
  const http: Server = createServer(fleetgate.yoga);
  const ws = fleetgate.serveGraphqlWs(http, settings);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  let closing: Promise<unknown> | undefined;
  return {
    url: `ws://127.0.0.1:${port}/graphql`,
    ws,
    close() {
      closing ??= (async () => {
        fleetgate.live.stop();
        await ws.close();
        await new Promise((resolve) => http.close(resolve));
      })();
      return closing;
    },
  };
}

/** A graphql-ws client that connects at once, never retries, and records how the socket closed. */
function connect(url: string, connectionParams: Record<string, unknown>) {
  const closes: Close[] = [];
  let acknowledged = false;
  const client: Client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        acknowledged = true;
      },
      closed: (event) => {
        const { code, reason } = event as Close;
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    closes,
    get acknowledged() {
      return acknowledged;
    },
    /** Waits for the socket to close, and answers how. */
    async closed(timeoutMs = 5_000): Promise<Close> {
      await until(() => closes.length > 0, timeoutMs, 'the socket to close');
      return closes[0] as Close;
    },
  };
}

/** One subscription of `client`, its results and its end collected as they come. */
function subscribe(client: Client, payload: { query: string; variables?: Record<string, unknown>; documentId?: string }) {
  const results: (Result & { at: number })[] = [];
  const state: { completed: boolean; errors?: unknown; endedAt?: number } = { completed: false };
  const dispose = client.subscribe<Record<string, unknown>, Record<string, unknown>>(payload, {
    next: (result) => results.push({ ...result, at: performance.now() }),
    error: (errors) => {
      state.errors = errors;
      state.endedAt = performance.now();
    },
    complete: () => {
      state.completed = true;
      state.endedAt ??= performance.now();
    },
  });
  return {
    results,
    state,
    dispose,
    /** The events' data, the final error's code in place of an errored one. */
    get events() {
      return results.map((result) => result.data ?? result.errors?.[0]?.extensions?.code);
    },
    /** The codes of an `error` message (a refused subscribe). */
    get refusal() {
      return Array.isArray(state.errors)
        ? (state.errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)
        : undefined;
    },
    ended: () => until(() => state.endedAt !== undefined, 5_000, 'the subscription to end'),
    nth: (n: number) => until(() => results.length >= n, 5_000, `event ${n}`),
  };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('live updates over WebSocket (graphql-ws)', () => {
  let gw: Gateway;
  let server: Awaited<ReturnType<typeof listen>>;
  const clients: Client[] = [];
  const secrets: string[] = [];
  const open = (connectionParams: Record<string, unknown>) => {
    const connection = connect(server.url, connectionParams);
    clients.push(connection.client);
    return connection;
  };
  const bearer = (token: string) => {
    secrets.push(token);
    return { authorization: `Bearer ${token}` };
  };
  const setStatus = (agentId: string, status: string) =>
    adminQuery(gw.database.adminUrl, 'update agents set status = $1 where id = $2', [status, uuidOf(agentId)]);

  /** Another replica on the same database, in process, with its own policy. */
  const secondReplica = (policy: ReplicaPolicy) => startSecondReplica(gw, { policy });

  beforeAll(async () => {
    gw = await startGateway();
    server = await listen(gw.fleetgate, { allowedOrigins: ['https://app.example.com'] });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await server?.close();
    await gw?.close();
  });

  test("a user's token subscribes to an agent: its status now, then each committed change", async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const { client } = open(bearer(a.ownerToken));
    const stream = subscribe(client, { query: AGENT, variables: { agentId: agent.id } });
    await stream.nth(1);
    await setStatus(agent.id, 'FAILED');
    await stream.nth(2);
    expect(stream.events).toEqual([
      { agentStatusChanged: expect.objectContaining({ agentId: agent.id, status: 'PROVISIONING' }) },
      { agentStatusChanged: expect.objectContaining({ agentId: agent.id, status: 'FAILED' }) },
    ]);
    stream.dispose();
  });

  test('a tenant holds at most its number of sockets on a replica (4429), and a socket without a subscription is closed when idle (4000)', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const agent = await a.agent();
    // A second listener of the same gateway with small bounds (closing it leaves the gateway's live updates running).
    const http: Server = createServer(gw.fleetgate.yoga);
    const bounded = gw.fleetgate.serveGraphqlWs(http, { idleMs: 1_000, maxSocketsPerTenant: 2 });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
    const opened: ReturnType<typeof connect>[] = [];
    const openHere = (params: Record<string, unknown>) => {
      const connection = connect(url, params);
      opened.push(connection);
      return connection;
    };
    try {
      const first = openHere(bearer(a.ownerToken));
      const second = openHere(bearer(a.ownerToken));
      await until(() => first.acknowledged && second.acknowledged, 5_000, "A's two sockets");
      const stream = subscribe(first.client, { query: AGENT, variables: { agentId: agent.id } });
      const third = openHere(bearer(a.ownerToken));
      expect(await third.closed()).toEqual({ code: 4429, reason: 'Too many connections' });
      expect(third.acknowledged).toBe(false);
      // Another tenant's count is its own.
      const other = openHere(bearer(b.ownerToken));
      await until(() => other.acknowledged, 5_000, "B's socket");
      await stream.nth(1);
      // The sockets holding nothing close once idle; the one with a subscription stays.
      expect(await second.closed(5_000)).toEqual({ code: 4000, reason: 'Idle' });
      expect(await other.closed(5_000)).toEqual({ code: 4000, reason: 'Idle' });
      expect(first.closes).toEqual([]);
      await setStatus(agent.id, 'FAILED');
      await stream.nth(2);
      // A closed socket no longer counts: A may open one again.
      const again = openHere(bearer(a.ownerToken));
      await until(() => again.acknowledged, 5_000, "A's socket after one closed");
      stream.dispose();
    } finally {
      await Promise.all(opened.map((connection) => connection.client.dispose()));
      await bounded.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  test("subscribing to another tenant's agent is refused exactly like a missing id", async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const bAgent = await b.agent();
    const { client } = open(bearer(a.ownerToken));
    const foreign = subscribe(client, { query: AGENT, variables: { agentId: bAgent.id } });
    const missing = subscribe(client, { query: AGENT, variables: { agentId: encodeGlobalId('Agent', randomUUID()) } });
    await foreign.ended();
    await missing.ended();
    expect(foreign.results.map(({ at: _at, ...result }) => result)).toEqual([
      { errors: [expect.objectContaining({ message: 'Agent not found', extensions: { code: 'NOT_FOUND' } })] },
    ]);
    expect(missing.results.map(({ at: _at, ...result }) => result)).toEqual(foreign.results.map(({ at: _at, ...result }) => result));
    expect([foreign.state.completed, missing.state.completed]).toEqual([true, true]);
    // B's agent changes; A's socket hears nothing of it.
    await setStatus(bAgent.id, 'FAILED');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(foreign.results).toHaveLength(1);
    // The probe is on A's record, as over HTTP and SSE; B's record stays clean.
    const denied = async (tenantId: string) =>
      (
        await adminQuery(gw.database.adminUrl, "select action, target_id from audit_events where tenant_id = $1 and outcome = 'DENIED'", [
          uuidOf(tenantId),
        ])
      ).rows;
    await waitUntil(async () => (await denied(a.id)).length >= 2, 5_000, "A's denied events");
    expect(await denied(a.id)).toEqual(
      expect.arrayContaining([{ action: 'Subscription.agentStatusChanged', target_id: uuidOf(bAgent.id) }]),
    );
    expect(await denied(b.id)).toEqual([]);
  });

  test('a freeze ends every stream of the tenant within one second: a final TENANT_FROZEN error, then complete; a new socket is refused 4403', async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const { client } = open(bearer(a.ownerToken));
    const agentStream = subscribe(client, { query: AGENT, variables: { agentId: agent.id } });
    const tenantStream = subscribe(client, { query: TENANT });
    await agentStream.nth(1);
    await tenantStream.nth(1);
    const frozenAt = performance.now();
    await gw.operator.freeze(a.id);
    await agentStream.ended();
    await tenantStream.ended();
    const closedAfter = (agentStream.state.endedAt ?? Number.POSITIVE_INFINITY) - frozenAt;
    console.log(`websocket stream completed ${Math.round(closedAfter)} ms after the freeze`);
    expect(closedAfter).toBeLessThan(1_000);
    expect(agentStream.events.at(-1)).toBe('TENANT_FROZEN');
    expect(agentStream.state.completed).toBe(true);
    expect(tenantStream.events).toEqual([
      { tenantStatus: expect.objectContaining({ status: 'ACTIVE' }) },
      { tenantStatus: expect.objectContaining({ status: 'FROZEN' }) },
      'TENANT_FROZEN',
    ]);
    // The errors keep their code and the operator's reason, not yoga's HTTP status.
    expect(agentStream.results.at(-1)?.errors?.[0]?.extensions).toEqual({ code: 'TENANT_FROZEN', reason: 'test' });
    // On the same socket a new subscription is refused; a new socket is refused outright.
    const again = subscribe(client, { query: TENANT });
    await again.ended();
    expect(again.refusal).toEqual(['TENANT_FROZEN']);
    const frozen = open(bearer(a.ownerToken));
    expect(await frozen.closed()).toEqual({ code: 4403, reason: 'Forbidden' });
    await gw.operator.unfreeze(a.id);
  });

  test("the live module's other endings reach the socket: a removed member's stream, a deleted agent's, the tenant's stream cap", async () => {
    const a = await gw.seed.tenant();
    const agent = await a.agent();
    const member = await a.member('MEMBER');
    const byMember = open(bearer(member.token));
    const byOwner = open(bearer(a.ownerToken));
    const memberStream = subscribe(byMember.client, { query: AGENT, variables: { agentId: agent.id } });
    const ownerStream = subscribe(byOwner.client, { query: AGENT, variables: { agentId: agent.id } });
    await memberStream.nth(1);
    await ownerStream.nth(1);
    const removedAt = performance.now();
    const removed = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.ownerToken}` },
      body: JSON.stringify({ query: REMOVE_MEMBER, variables: { input: { userId: member.id } } }),
    });
    expect(((await removed.json()) as { errors?: unknown }).errors).toBeUndefined();
    await memberStream.ended();
    expect((memberStream.state.endedAt ?? Number.POSITIVE_INFINITY) - removedAt).toBeLessThan(1_000);
    expect(memberStream.events.at(-1)).toBe('UNAUTHENTICATED');
    expect(ownerStream.state.endedAt).toBeUndefined();
    expectNoErrors(await gw.execute(DeleteAgent, { id: agent.id }, { token: a.ownerToken }));
    await ownerStream.ended();
    expect(ownerStream.events.at(-1)).toBe('AGENT_DELETED');
    expect(ownerStream.state.completed).toBe(true);
    // The per-tenant cap counts streams over every transport.
    const limits = gw.fleetgate.live.limits;
    const before = { ...limits };
    limits.perTenant = 1;
    try {
      const first = subscribe(byOwner.client, { query: TENANT });
      await first.nth(1);
      const second = subscribe(byOwner.client, { query: TENANT });
      await second.ended();
      expect(second.events).toEqual(['SUBSCRIPTION_LIMIT']);
      first.dispose();
    } finally {
      Object.assign(limits, before);
    }
  });

  test('no credential, a malformed one, a revoked API key and a removed member are refused with 4401; the reason says nothing more', async () => {
    const a = await gw.seed.tenant();
    const key = await a.apiKey(['AGENTS_READ']);
    secrets.push(key.key);
    const member = await a.member('MEMBER');
    // Before: both may connect.
    const keyBefore = open(bearer(key.key));
    const memberBefore = open(bearer(member.token));
    await until(() => keyBefore.acknowledged && memberBefore.acknowledged, 5_000, 'both acknowledged');
    expectNoErrors(await gw.execute(RevokeApiKey, { id: key.id }, { token: a.ownerToken }));
    const removed = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.ownerToken}` },
      body: JSON.stringify({ query: REMOVE_MEMBER, variables: { input: { userId: member.id } } }),
    });
    expect(((await removed.json()) as { errors?: unknown }).errors).toBeUndefined();
    const refused = [open({}), open({ authorization: 'Bearer not-a-token' }), open(bearer(key.key)), open(bearer(member.token))];
    for (const connection of refused) {
      expect(await connection.closed()).toEqual({ code: 4401, reason: 'Unauthorized' });
      expect(connection.acknowledged).toBe(false);
    }
    // The revoked key's open socket may no longer subscribe either: its credential is verified per subscription.
    const late = subscribe(keyBefore.client, {
      query: '',
      documentId: AGENT_BY_HASH,
      variables: { agentId: encodeGlobalId('Agent', randomUUID()) },
    });
    await late.ended();
    expect(late.refusal).toEqual(['UNAUTHENTICATED']);
  });

  test('only subscriptions run over the socket: a query is sent back to HTTP with BAD_REQUEST', async () => {
    const a = await gw.seed.tenant();
    const { client } = open(bearer(a.ownerToken));
    const query = subscribe(client, { query: '{ me { id } }' });
    const mutation = subscribe(client, { query: 'mutation { requestTenantDeletion { status } }' });
    await query.ended();
    await mutation.ended();
    expect(query.refusal).toEqual(['BAD_REQUEST']);
    expect(mutation.refusal).toEqual(['BAD_REQUEST']);
    // The mutation never ran.
    const status = await adminQuery(gw.database.adminUrl, 'select status from tenants where id = $1', [uuidOf(a.id)]);
    expect(status.rows).toEqual([{ status: 'ACTIVE' }]);
  });

  test("the document limits hold over the socket: over the alias limit, over 10,000 characters, an API key's arbitrary document", async () => {
    const a = await gw.seed.tenant();
    const key = await a.apiKey(['AGENTS_READ']);
    secrets.push(key.key);
    const { client } = open(bearer(a.ownerToken));
    const aliases = Array.from({ length: 16 }, (_, i) => `s${i}: status`).join(' ');
    const tooManyAliases = subscribe(client, { query: `subscription { tenantStatus { ${aliases} } }` });
    const tooLong = subscribe(client, { query: `subscription { tenantStatus { status } } # ${'x'.repeat(10_001)}` });
    const fine = subscribe(client, { query: TENANT });
    await tooManyAliases.ended();
    await tooLong.ended();
    await fine.nth(1);
    expect(tooManyAliases.refusal).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((tooManyAliases.state.errors as { message: string }[])[0]?.message).toBe('Syntax Error: Query validation error.');
    expect(tooLong.refusal).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const byKey = open(bearer(key.key));
    const arbitrary = subscribe(byKey.client, { query: TENANT });
    await arbitrary.ended();
    expect(arbitrary.refusal).toEqual(['PERSISTED_QUERY_ONLY']);
    fine.dispose();
    // Refusals before execution go on the tenant's record, as over HTTP (the code only, never the document).
    const refused = async () =>
      (
        await adminQuery(
          gw.database.adminUrl,
          "select detail->>'code' as code from audit_events where tenant_id = $1 and action = 'request.refused' order by 1",
          [uuidOf(a.id)],
        )
      ).rows.map((row) => row.code);
    await waitUntil(async () => (await refused()).length >= 3, 5_000, 'the refusals on record');
    expect(new Set(await refused())).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_ONLY']));
  });

  test("a browser page of a foreign origin is refused at the handshake (403); the gateway's own and allowed origins are not", async () => {
    const handshake = (origin: string | undefined) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(server.url, 'graphql-transport-ws', origin ? { headers: { origin } } : {});
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('open', () => {
          socket.close();
          resolve(101);
        });
        socket.on('error', reject);
      });
    const own = new URL(server.url.replace('ws:', 'http:')).origin;
    expect(await handshake('https://evil.example')).toBe(403);
    expect(await handshake('null')).toBe(403);
    expect(await handshake(own)).toBe(101);
    expect(await handshake('https://app.example.com')).toBe(101);
    expect(await handshake(undefined)).toBe(101);
    expect(gw.logs()).toContain('websocket from a foreign origin refused');
  });

  test('in production mode a subscribe runs by the published hash and an arbitrary document is refused', async () => {
    const replica = await secondReplica({ mode: 'production', tenantRateLimitPerMinute: 100_000, apiKeyRateLimitPerMinute: 100_000 });
    const production = await listen(replica);
    try {
      const a = await gw.seed.tenant();
      const agent = await a.agent();
      const connection = connect(production.url, bearer(a.ownerToken));
      clients.push(connection.client);
      const byHash = subscribe(connection.client, { query: '', documentId: AGENT_BY_HASH, variables: { agentId: agent.id } });
      const byText = subscribe(connection.client, { query: AGENT, variables: { agentId: agent.id } });
      const unknown = subscribe(connection.client, { query: '', documentId: `sha256:${'0'.repeat(64)}`, variables: {} });
      await byHash.nth(1);
      await byText.ended();
      await unknown.ended();
      expect(byHash.events[0]).toEqual({ agentStatusChanged: expect.objectContaining({ agentId: agent.id, status: 'PROVISIONING' }) });
      expect(byText.refusal).toEqual(['PERSISTED_QUERY_ONLY']);
      expect(unknown.refusal).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      // Shutting down as main.ts does: the stream's final error and complete, then the socket closes (1001).
      await production.close();
      await byHash.ended();
      expect(byHash.events.at(-1)).toBe('SERVICE_UNAVAILABLE');
      expect(byHash.state.completed).toBe(true);
      expect(await connection.closed()).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      await production.close();
      await replica.close();
    }
  });

  test("each subscribe counts against the tenant's rate limit, as an HTTP operation does", async () => {
    const replica = await secondReplica({ mode: 'development', tenantRateLimitPerMinute: 2, apiKeyRateLimitPerMinute: 100_000 });
    const limited = await listen(replica);
    try {
      const a = await gw.seed.tenant();
      const connection = connect(limited.url, bearer(a.ownerToken));
      clients.push(connection.client);
      const streams = [subscribe(connection.client, { query: TENANT }), subscribe(connection.client, { query: TENANT })];
      await Promise.all(streams.map((stream) => stream.nth(1)));
      const third = subscribe(connection.client, { query: TENANT });
      await third.ended();
      expect(third.refusal).toEqual(['RATE_LIMITED']);
    } finally {
      await limited.close();
      await replica.close();
    }
  });

  test('no credential reaches a log line or a close reason', async () => {
    expect(secrets.length).toBeGreaterThan(3);
    const logs = gw.logs();
    for (const secret of secrets) expect(logs).not.toContain(secret);
    expect(logs).toContain('websocket refused');
  });
});

describe('graphql-ws in the gateway as main.ts starts it', () => {
  test('the same port serves it; on SIGTERM the stream ends with SERVICE_UNAVAILABLE and complete, then the socket closes (1001)', async () => {
    const database = await createTestDatabase();
    const home = await mkdtemp(join(tmpdir(), 'fleetgate-ws-'));
    const port = await freePorts(1);
    let output = '';
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: database.adminUrl,
        FLEETGATE_HOME: home,
        FLEETGATE_INSTANCE: database.name,
        PORT: String(port),
        METRICS_PORT: '0',
        CANARY_INTERVAL_SECONDS: '0',
        RECONCILE_INTERVAL_SECONDS: '0',
        AGENT_RUNTIME: 'none',
        GRAPHQL_WS_ALLOWED_ORIGINS: 'https://app.example.com',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => {
      output += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      output += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until(() => output.includes('Fleetgate is up') || child.exitCode !== null, 60_000, 'the gateway to start');
      expect(child.exitCode).toBeNull();
      const signUp = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation ($input: SignUpInput!) { signUp(input: $input) { token } }',
          variables: { input: { tenantName: 'ws', owner: { email: `owner-${randomUUID()}@example.com`, name: 'Owner' } } },
        }),
      });
      const token = ((await signUp.json()) as { data: { signUp: { token: string } } }).data.signUp.token;
      const connection = connect(`ws://127.0.0.1:${port}/graphql`, { authorization: `Bearer ${token}` });
      const stream = subscribe(connection.client, { query: TENANT });
      await stream.nth(1);
      expect(stream.events[0]).toEqual({ tenantStatus: expect.objectContaining({ status: 'ACTIVE' }) });
      child.kill('SIGTERM');
      await stream.ended();
      expect(stream.events.at(-1)).toBe('SERVICE_UNAVAILABLE');
      expect(stream.state.completed).toBe(true);
      expect(await connection.closed()).toEqual({ code: 1001, reason: 'Going away' });
      expect(await exited).toBe(0);
      expect(output).not.toContain(token);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      await database.drop();
      await rm(home, { recursive: true, force: true });
    }
  }, 90_000);
});
