import { afterAll, beforeAll, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { type Gateway, startGateway } from './support/gateway.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ canary: true });
});
afterAll(() => gw?.close());

test('the isolation canary also watches enterprise schemas: RLS no longer forced there locks the gateway down', async () => {
  const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  const bank = await gw.seed.tenant('bank', { enterpriseBy: operator });
  expect(await gw.fleetgate.canary.runOnce()).toEqual({ exposures: [] });
  const schema = tenantSchemaName(decodeGlobalId(bank.id).id);
  await adminQuery(gw.database.adminUrl, `alter table ${schema}.agents no force row level security`);
  expect((await gw.fleetgate.canary.runOnce()).exposures).toEqual([`RLS not enabled and forced on ${schema}.agents`]);
  expect(gw.fleetgate.gate.lockedDown).toBe(true);
});
