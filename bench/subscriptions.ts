/**
 * `npm run bench:subscriptions`: live updates under load (issue 18). One gateway process on a
 * throw-away database; BENCH_SUBSCRIBERS (500) SSE subscriptions to `agentStatusChanged` are opened
 * on it, spread over BENCH_TENANTS (10) tenants and one agent each (so each change fans out to
 * subscribers / tenants streams). Then BENCH_ROUNDS (100) rounds, each committing one status change
 * of one agent (in SQL, as any writer would: the trigger notifies at commit) and waiting until every
 * subscriber of that agent has its event; then one burst changing every agent at once. Latency is
 * measured from just before the change is sent to Postgres to the event read from the stream, so it
 * includes the commit, the notification, the gateway's fan-out and the SSE write.
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_SUBSCRIBERS (500), BENCH_TENANTS (10), BENCH_ROUNDS (100),
 * BENCH_REDIS_URL (the gateway fans out through that Redis, as with REDIS_URL: relay, tenant channels).
 */
import pg from 'pg';
import { appUrlFor } from '../src/db/database-urls.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { benchFixture, type Cleanup } from './fixture.ts';
import { percentile } from './load.ts';
import { type Fixtures, seedTenants } from './seed.ts';
import { startServer } from './servers.ts';
import { positiveSetting } from './settings.ts';

const settings = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  subscribers: positiveSetting('BENCH_SUBSCRIBERS', 500),
  tenants: positiveSetting('BENCH_TENANTS', 10),
  rounds: positiveSetting('BENCH_ROUNDS', 100),
};
const SUBSCRIPTION = 'subscription ($agentId: ID!) { agentStatusChanged(agentId: $agentId) { status } }';
const STATUSES = ['RUNNING', 'STOPPED'] as const;

/** One open stream: the statuses it has read, with when (performance.now()). */
interface Stream {
  agentId: string;
  received: { status: string; at: number }[];
  ended: boolean;
  close: () => void;
}

const cleanups: Cleanup[] = [];

async function main(): Promise<void> {
  const { machine, db, keyringDir, tokens } = await benchFixture(settings.adminUrl, cleanups);
  const server = await startServer('fleetgate', './fleetgate-server.ts', { appUrl: appUrlFor(db.url), keyringDir, poolSize: 10 });
  cleanups.push(server.stop);
  const fixtures: Fixtures = { tenants: [], agentOwner: new Map() };
  await seedTenants(db.url, fixtures, settings.tenants, tokens);
  const url = `http://127.0.0.1:${server.port}/graphql`;
  const agents = fixtures.tenants.map((tenant) => ({
    tenant,
    agentId: [...fixtures.agentOwner].find(([, owner]) => owner === tenant.tenantId)?.[0] as string,
  }));
  console.log(
    `Live updates bench on ${db.name}: ${settings.subscribers} SSE subscriptions over ${agents.length} agents of ` +
      `${agents.length} tenants, ${settings.rounds} changes one at a time, then one burst, ` +
      `${process.env.BENCH_REDIS_URL ? 'through Redis' : 'LISTEN/NOTIFY only'} (${machine})`,
  );

  const openedAt = performance.now();
  const streams = await Promise.all(
    Array.from({ length: settings.subscribers }, (_, i) => {
      const { tenant, agentId } = agents[i % agents.length] as (typeof agents)[number];
      return openStream(url, tenant.token, agentId);
    }),
  );
  cleanups.push(async () => {
    for (const stream of streams) stream.close();
  });
  await waitUntil(() => streams.every((stream) => stream.received.length >= 1), 30_000, 'every first event');
  console.log(`  ${streams.length} streams open, first event on each, in ${(performance.now() - openedAt).toFixed(0)} ms`);

  // One connection per agent: the burst's changes are committed by separate writers at once.
  const admin = new pg.Pool({ connectionString: db.url, max: agents.length });
  cleanups.push(() => admin.end());
  const latencies: number[] = [];
  const cpuBefore = await server.cpuMicros();
  for (let round = 0; round < settings.rounds; round++) {
    const { agentId } = agents[round % agents.length] as (typeof agents)[number];
    const status = STATUSES[Math.floor(round / agents.length) % 2] as string;
    latencies.push(...(await change(admin, streams, [agentId], status)));
  }
  const cpuAfter = await server.cpuMicros();
  const single = [...latencies];
  const burst = await change(
    admin,
    streams,
    agents.map((each) => each.agentId),
    'FAILED',
  );
  const deliveries = single.length;
  const report = (name: string, samples: number[]) =>
    console.log(
      `  ${name.padEnd(26)} ${String(samples.length).padStart(6)} deliveries  p50 ${percentile(samples, 50).toFixed(1)} ms  ` +
        `p99 ${percentile(samples, 99).toFixed(1)} ms  max ${Math.max(...samples).toFixed(1)} ms`,
    );
  console.log('');
  report(`one change → ${settings.subscribers / agents.length} streams`, single);
  report(`burst: ${agents.length} changes → ${settings.subscribers}`, burst);
  console.log(
    `  gateway CPU ${((cpuAfter - cpuBefore) / deliveries).toFixed(0)} µs per delivery (rounds of single changes); ` +
      `streams still open: ${streams.filter((stream) => !stream.ended).length}`,
  );
}

/** Commits `status` for each agent (one statement each, as separate writers would) and waits for every subscriber's event. */
async function change(admin: pg.Pool, streams: Stream[], agentIds: string[], status: string): Promise<number[]> {
  const watched = streams.filter((stream) => agentIds.includes(stream.agentId));
  const seen = watched.map((stream) => stream.received.length);
  const sentAt = performance.now();
  await Promise.all(agentIds.map((agentId) => admin.query('update agents set status = $1 where id = $2', [status, agentId])));
  await waitUntil(
    () => watched.every((stream, i) => stream.received.length > (seen[i] as number)),
    10_000,
    `${status} on ${watched.length} streams`,
  );
  return watched.map((stream, i) => ((stream.received[seen[i] as number] as { at: number }).at - sentAt) as number);
}

async function openStream(url: string, token: string, agentId: string): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SUBSCRIPTION, variables: { agentId: encodeGlobalId('Agent', agentId) } }),
    signal: controller.signal,
  });
  if (!response.ok || !response.body) throw new Error(`subscription refused: ${response.status} ${await response.text()}`);
  const stream: Stream = { agentId, received: [], ended: false, close: () => controller.abort() };
  void readStatuses(response.body, stream);
  return stream;
}

/** Reads the SSE body; each `data:` line's status is recorded with its arrival time. */
async function readStatuses(body: ReadableStream<Uint8Array>, stream: Stream): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  try {
    const reader = body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const chunk = read.value;
      const at = performance.now();
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const status = /"status":"([A-Z_]+)"/.exec(line)?.[1];
        if (line.startsWith('data:') && status) stream.received.push({ status, at });
      }
    }
  } catch {
    // aborted at the end
  } finally {
    stream.ended = true;
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
