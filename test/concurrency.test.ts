import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Gateway, type GraphQLResponse, startGateway } from './support/gateway.ts';
import { AgentById, Agents, CreateAgent, UpdateAgent } from './support/operations.ts';

const TENANTS = 20;
const REQUESTS = 2_000;
const CONCURRENCY = 50;

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ poolSize: 10 });
});
afterAll(() => gw?.close());

/**
 * Interleaved reads and writes from 20 tenants at concurrency 50 on a small pool, so connections
 * are reused across tenants constantly. Every agent name carries its tenant's marker; a response
 * holding any other marker, or an id another tenant owns, is a leak.
 */
test(`${REQUESTS} interleaved requests across ${TENANTS} tenants leak nothing`, async () => {
  const tenants = await Promise.all(
    Array.from({ length: TENANTS }, async (_, index) => {
      const marker = `t${String(index).padStart(2, '0')}`;
      const tenant = await gw.seed.tenant(marker);
      const agents = [await tenant.agent(`${marker}-seed-1`), await tenant.agent(`${marker}-seed-2`)];
      return { marker, token: tenant.ownerToken, agentIds: agents.map((agent) => agent.id) };
    }),
  );
  const owner = new Map(tenants.flatMap((tenant) => tenant.agentIds.map((id) => [id, tenant.marker] as const)));

  const leaks: string[] = [];
  const failures: string[] = [];
  let next = 0;
  async function worker() {
    while (next < REQUESTS) {
      const n = next++;
      const tenant = tenants[n % TENANTS];
      if (!tenant) continue;
      const auth = { token: tenant.token };
      const kind = n % 4;
      let response: GraphQLResponse<unknown>;
      if (kind === 0) {
        response = await gw.execute(CreateAgent, { input: { name: `${tenant.marker}-c${n}`, image: 'fleetgate/agent:1' } }, auth);
        const id = (response.data as { createAgent?: { agent: { id: string } } } | null)?.createAgent?.agent.id;
        if (id) owner.set(id, tenant.marker);
      } else if (kind === 1) {
        response = await gw.execute(UpdateAgent, { input: { id: tenant.agentIds[0] ?? '', description: `by ${tenant.marker}` } }, auth);
      } else if (kind === 2) {
        // Half of these ask for another tenant's agent and must get NOT_FOUND.
        const other = tenants[(n + 7) % TENANTS];
        const id = n % 8 === 2 ? (other?.agentIds[1] ?? '') : (tenant.agentIds[1] ?? '');
        response = await gw.execute(AgentById, { id }, auth);
        if (id !== tenant.agentIds[1] && response.errors?.[0]?.extensions?.code !== 'NOT_FOUND') leaks.push(`#${n} read foreign agent`);
      } else {
        response = await gw.execute(Agents, { first: 50 }, auth);
      }
      const expectedError = kind === 2 && n % 8 === 2;
      if (response.errors && !expectedError) failures.push(`#${n}: ${JSON.stringify(response.errors)}`);
      const body = JSON.stringify(response.data ?? {});
      for (const match of body.matchAll(/"name":"(t\d\d)-/g)) if (match[1] !== tenant.marker) leaks.push(`#${n} saw ${match[1]}`);
      for (const match of body.matchAll(/"id":"([^"]+)"/g)) {
        const id = match[1] ?? '';
        if (owner.has(id) && owner.get(id) !== tenant.marker) leaks.push(`#${n} saw id of ${owner.get(id)}`);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  expect(failures).toEqual([]);
  expect(leaks).toEqual([]);
  expect(next).toBeGreaterThanOrEqual(REQUESTS);
}, 120_000);
