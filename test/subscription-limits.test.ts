import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Gateway, startGateway, startSecondReplica } from './support/gateway.ts';
import { type Subscription, subscribe } from './support/sse.ts';

const URL = 'http://gateway.test/graphql';
/** Cost 2 (a field and its one field); AGENT's selection costs 4. */
const TENANT = 'subscription { tenantStatus { status } }';
const AGENT = 'subscription ($agentId: ID!) { agentStatusChanged(agentId: $agentId) { agentId status at } }';

/** The codes of a stream's refusal (its first result's errors), once it has ended or sent its first event. */
async function firstCodes(stream: Subscription): Promise<string[]> {
  await stream.until((event) => event.event === 'next' || event.event === 'complete');
  return (stream.results[0]?.errors ?? []).map((error) => String(error.extensions?.code));
}

/**
 * Subscriptions over SSE cross the same request policies as queries: opening one counts against the
 * tenant's rate limit, and its selection is priced like any operation. (graphql-ws applies both
 * before a subscription starts and is not counted again: test/graphql-ws.test.ts.)
 */
let gw: Gateway;
/** A second replica on the same database whose cost limit admits TENANT and not AGENT (sign-up costs more: tenants come from gw). */
let strict: Awaited<ReturnType<typeof startSecondReplica>>;
const open: Subscription[] = [];
const sub = async (query: string, variables: Record<string, unknown>, token: string, on: Pick<Gateway, 'yoga'> = gw) => {
  const stream = await subscribe((url, init) => on.yoga.fetch(url, init), URL, query, variables, token);
  open.push(stream);
  return stream;
};

beforeAll(async () => {
  gw = await startGateway({ policy: { tenantRateLimitPerMinute: 3 } });
  strict = await startSecondReplica(gw, {
    policy: { mode: 'development', tenantRateLimitPerMinute: 100_000, apiKeyRateLimitPerMinute: 100_000, maxCost: 3 },
  });
});
afterAll(async () => {
  await Promise.all(open.map((stream) => stream.close()));
  await strict?.close();
  await gw?.close();
});

test('opening a subscription counts against the rate limit: past it, RATE_LIMITED', async () => {
  const a = await gw.seed.tenant(); // sign-up is anonymous: not counted against the tenant
  const codes: string[][] = [];
  for (let i = 0; i < 4; i++) codes.push(await firstCodes(await sub(TENANT, {}, a.ownerToken)));
  expect(codes.slice(0, 3)).toEqual([[], [], []]);
  expect(codes[3]).toEqual(['RATE_LIMITED']);
});

test('a subscription whose selection costs more than the limit is refused before it opens', async () => {
  const b = await gw.seed.tenant();
  const cheap = await firstCodes(await sub(TENANT, {}, b.ownerToken, strict));
  const dear = await firstCodes(await sub(AGENT, { agentId: 'QWdlbnQ6eA==' }, b.ownerToken, strict));
  expect(cheap).toEqual([]);
  expect(dear).toEqual(['BAD_USER_INPUT']);
});
