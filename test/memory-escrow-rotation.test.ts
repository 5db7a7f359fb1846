import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { type BackupDeps, backupTenant, restoreTenant } from '../src/modules/enterprise/backup.service.ts';
import { aadOf, openValue } from '../src/modules/memory/memory-crypto.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { PutMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { CredentialKeyStatus, RotateCredentialKey } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

// A SAME restore of a backup older than an agent leaves that agent's key only in the live key mirror
// (memory_key_escrow): its key table is gone, and nothing follows it there. It is still the one key
// of that agent's rows in newer backups, so KEK rotation must rewrap it before retiring a version
// (memory_escrow_below_key_version and rewrap_memory_escrow, migrations/functions/keys.sql).

const operator = { kind: 'operator', operatorId: 'op' } as const;
let gw: Gateway;
let deps: BackupDeps;
beforeAll(async () => {
  const backups = { dir: await mkdtemp(join(tmpdir(), 'fleetgate-escrow-backups-')) };
  gw = await startGateway({ backups });
  deps = { ...backups, keys: gw.keyProvider, orm: gw.orm, log: gw.log };
});
afterAll(async () => {
  await gw?.close();
  if (deps) await rm(deps.dir, { recursive: true, force: true });
});

const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);

test('a mirror key no key table follows is rewrapped before the old KEK version is retired; the newer backup’s memory still opens', async () => {
  const operatorToken = (await gw.tokens.issue(operator)).reveal();
  const bank = await gw.seed.tenant('escrow-bank', { enterpriseBy: operatorToken });
  const tenantId = decodeGlobalId(bank.id).id;
  const own = tenantSchemaName(tenantId);
  const early = await agentWithToken(gw, bank, 'early');
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '"early"' } }, { token: early.token }));
  const older = await backupTenant(deps, operator, tenantId);
  const late = await agentWithToken(gw, bank, 'late');
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '"late"' } }, { token: late.token }));
  const newer = await backupTenant(deps, operator, tenantId);

  // The schema is lost and the older backup restored: `late` is not back; its key is only in the mirror.
  await admin(`drop schema ${own} cascade`);
  await restoreTenant(deps, operator, { backupId: older.backupId, into: 'SAME' });
  expect(await admin(`select agent_id::text from ${own}.agent_memory_keys`)).toEqual([{ agent_id: early.id }]);
  const mirrored = () => admin('select wrapped_key_version(wrapped_key) as version from memory_key_escrow where agent_id = $1', [late.id]);
  expect(await mirrored()).toEqual([{ version: 1 }]);

  expect(expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operatorToken })).rotateCredentialKey).toBe(2);
  await gw.fleetgate.keyRotation.idle();
  await gw.fleetgate.keyRotation.poke();
  const status = expectNoErrors(await gw.execute(CredentialKeyStatus, {}, { token: operatorToken })).credentialKeyStatus;
  expect(status).toMatchObject({ latestVersion: 2, minDecryptionVersion: 2, pendingRewrap: 0 });
  expect(await mirrored()).toEqual([{ version: 2 }]);

  // The newer backup, restored beside: `late`'s rows come back and open with the mirror's key, after the retirement.
  const restored = await restoreTenant(deps, operator, { backupId: newer.backupId, into: 'NEW' });
  expect(restored.memoryShredded).toEqual({ agents: 0, entries: 0 });
  const [row] = await admin(`select ciphertext from ${restored.schema}.agent_memory where agent_id = $1`, [late.id]);
  const [escrow] = await admin('select wrapped_key from memory_key_escrow where agent_id = $1', [late.id]);
  const dataKey = await gw.keyProvider.unwrapDataKey(escrow?.wrapped_key);
  expect(openValue(dataKey, aadOf(tenantId, late.id, 'k'), row?.ciphertext)).toBe('"late"');
});
