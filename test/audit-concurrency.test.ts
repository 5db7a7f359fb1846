import { afterAll, beforeAll, expect, test } from 'vitest';
import { uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { CreateAgent, UpdateAgent, VerifyAuditLog } from './support/operations.ts';

const TENANTS = 4;
const REQUESTS = 600;
const CONCURRENCY = 48;

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ poolSize: 12 });
});
afterAll(() => gw?.close());

/**
 * Many requests append to few chains at once: creates, updates, and refused writes (recorded after
 * their rollback, in their own transactions). Every chain must come out gapless, linked and
 * complete: one event per change and per refusal, none lost, none duplicated.
 */
test(`${REQUESTS} concurrent writers on ${TENANTS} tenants keep every chain valid and complete`, async () => {
  const tenants = await Promise.all(
    Array.from({ length: TENANTS }, async () => {
      const tenant = await gw.seed.tenant();
      const viewer = await tenant.member('VIEWER');
      const agent = await tenant.agent('shared');
      return { ...tenant, viewerToken: viewer.token, agentId: agent.id };
    }),
  );
  const { rows: before } = await adminQuery<{ tenant: string; n: number }>(
    gw.database.adminUrl,
    'select tenant_id::text as tenant, count(*)::int as n from audit_events group by 1',
  );
  const expected = new Map(before.map((row) => [row.tenant, row.n]));

  let next = 0;
  const failures: string[] = [];
  async function worker() {
    while (next < REQUESTS) {
      const n = next++;
      const tenant = tenants[n % TENANTS];
      if (!tenant) continue;
      const id = uuidOf(tenant.id);
      const kind = n % 3;
      const response =
        kind === 0
          ? await gw.execute(CreateAgent, { input: { name: `c${n}`, image: 'fleetgate/agent:1' } }, { token: tenant.ownerToken })
          : kind === 1
            ? await gw.execute(UpdateAgent, { input: { id: tenant.agentId, description: `d${n}` } }, { token: tenant.ownerToken })
            : await gw.execute(CreateAgent, { input: { name: `v${n}`, image: 'fleetgate/agent:1' } }, { token: tenant.viewerToken });
      const refused = kind === 2;
      if (Boolean(response.errors?.length) !== refused) failures.push(`#${n}: ${JSON.stringify(response.errors)}`);
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(failures).toEqual([]);

  for (const tenant of tenants) {
    const { verifyAuditLog } = expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: tenant.ownerToken }));
    const count = expected.get(uuidOf(tenant.id));
    expect(verifyAuditLog).toMatchObject({ intact: true, eventsChecked: count, firstSeq: '1', lastSeq: String(count) });
  }
}, 60_000);
