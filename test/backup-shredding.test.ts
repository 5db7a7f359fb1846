import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { type BackupDeps, backupTenant, restoreTenant } from '../src/modules/enterprise/backup.service.ts';
import { aadOf, openValue } from '../src/modules/memory/memory-crypto.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { ExportAgentMemory, PutMemory, WipeAgentMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditLog, DeleteAgent } from './support/operations.ts';

// Issue 5 regression: backups carried agent_memory_keys, so restoring one taken before an agent's
// deletion brought its data key back and its crypto-shredded memory became readable again.

type Seeded = Awaited<ReturnType<Gateway['seed']['tenant']>>;
type Agent = Awaited<ReturnType<typeof agentWithToken>>;
type MemoryRow = { tenant_id: string; agent_id: string; key: string; ciphertext: string };

const operator = { kind: 'operator', operatorId: 'op' } as const;
let gw: Gateway;
let deps: BackupDeps;
let operatorToken: string;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);

beforeAll(async () => {
  const backups = { dir: await mkdtemp(join(tmpdir(), 'fleetgate-shred-backups-')) };
  gw = await startGateway({ backups });
  deps = { ...backups, keys: gw.keyProvider, orm: gw.orm, log: gw.log };
  operatorToken = (await gw.tokens.issue(operator)).reveal();
});
afterAll(async () => {
  await gw?.close();
  if (deps) await rm(deps.dir, { recursive: true, force: true });
});

/** The archive opened with nothing but the file and the key provider, as anyone holding both could. */
async function openArchive(backupId: string): Promise<{ text: string; tables: Record<string, Record<string, unknown>[]> }> {
  const archive = JSON.parse(await readFile(join(deps.dir, backupId), 'utf8'));
  const dataKey = await gw.keyProvider.unwrapDataKey(archive.wrappedKey);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(archive.iv, 'base64'));
  decipher.setAAD(Buffer.from(`${archive.format}\n${archive.tenantId}\n${archive.createdAt}`));
  decipher.setAuthTag(Buffer.from(archive.tag, 'base64'));
  const text = gunzipSync(Buffer.concat([decipher.update(Buffer.from(archive.ciphertext, 'base64')), decipher.final()])).toString('utf8');
  return { text, tables: JSON.parse(text).tables };
}

/** bytea as to_jsonb writes it (`\x…`) or as pg returns it (Buffer). */
const bytesOf = (value: unknown) => (Buffer.isBuffer(value) ? value : Buffer.from(String(value).replace(/^\\x/, ''), 'hex'));

/** How many of `rows` open with any of `wrappedKeys` (each unwrapped by the real provider). */
async function readableWith(wrappedKeys: string[], rows: MemoryRow[]): Promise<number> {
  let readable = 0;
  for (const row of rows) {
    for (const wrapped of new Set(wrappedKeys)) {
      const dataKey = await gw.keyProvider.unwrapDataKey(wrapped).catch(() => null);
      if (!dataKey) continue;
      try {
        openValue(dataKey, aadOf(row.tenant_id, row.agent_id, row.key), bytesOf(row.ciphertext));
        readable++;
        break;
      } catch {
        // not this key
      } finally {
        dataKey.fill(0);
      }
    }
  }
  return readable;
}

/** Every wrapped data key written anywhere in `text` (`local:v1:…`, `vault:v1:…`). */
const wrappedKeysIn = (text: string) => [...text.matchAll(/(?:local|vault):v\d+:[A-Za-z0-9+/=_.:-]+/g)].map((m) => m[0]);

async function tenantWithMemory(name: string, enterprise: boolean) {
  const tenant: Seeded = await gw.seed.tenant(name, enterprise ? { enterpriseBy: operatorToken } : {});
  const doomed = await agentWithToken(gw, tenant, `${name}-doomed`);
  const survivor = await agentWithToken(gw, tenant, `${name}-survivor`);
  for (const agent of [doomed, survivor]) {
    for (const key of ['plan', 'notes']) {
      const value = JSON.stringify({ secret: `${key}-of-${agent.id}` });
      expectNoErrors(await gw.execute(PutMemory, { input: { key, value } }, { token: agent.token }));
    }
  }
  return { tenant, tenantId: decodeGlobalId(tenant.id).id, doomed, survivor };
}

const exported = async (tenant: Seeded, agent: Agent) => {
  const response = await gw.execute(ExportAgentMemory, { agentId: agent.globalId }, { token: tenant.ownerToken });
  return response.errors ? errorCodes(response) : response.data?.exportAgentMemory.entries.map((e) => [e.key, e.value]).sort();
};
const expected = (agent: Agent) => ['notes', 'plan'].map((key) => [key, JSON.stringify({ secret: `${key}-of-${agent.id}` })]);

describe.each([
  ['enterprise', true],
  ['standard', false],
])('a %s tenant backed up, then an agent deleted, then the backup restored', (name, enterprise) => {
  test('the deleted agent’s memory stays unreadable by every path; the live agent’s reads back equal', async () => {
    const { tenant, tenantId, doomed, survivor } = await tenantWithMemory(`shred-${name}`, enterprise);
    const live = enterprise ? tenantSchemaName(tenantId) : 'public';
    const liveKeysAtBackup = (await admin(`select wrapped_key from ${live}.agent_memory_keys where tenant_id = $1`, [tenantId])).map(
      (r) => r.wrapped_key as string,
    );
    expect(liveKeysAtBackup).toHaveLength(2);

    const backup = await backupTenant(deps, operator, tenantId);
    // The archive's plaintext holds no key table and no wrapped key of any kind.
    const archive = await openArchive(backup.backupId);
    expect(Object.keys(archive.tables)).not.toContain('agent_memory_keys');
    expect(backup.rows).not.toHaveProperty('agent_memory_keys');
    expect(wrappedKeysIn(archive.text)).toEqual([]);
    for (const wrapped of liveKeysAtBackup) expect(archive.text).not.toContain(wrapped);
    const archivedMemory = (archive.tables.agent_memory ?? []) as MemoryRow[];
    expect(archivedMemory).toHaveLength(4); // the ciphertexts are backed up, only the keys are not

    expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: tenant.ownerToken }));
    const doomedInArchive = archivedMemory.filter((row) => row.agent_id === doomed.id);
    expect(doomedInArchive).toHaveLength(2);

    const restored = await restoreTenant(deps, operator, { backupId: backup.backupId, into: 'NEW' });
    expect(restored.memoryShredded).toEqual({ agents: 1, entries: 2 });
    expect(restored.rows).not.toHaveProperty('agent_memory_keys');
    expect(restored.rows.agent_memory).toBe(2);
    // No key came back from the archive: the restored key table is empty; live rows open with the live key.
    expect(await admin(`select * from ${restored.schema}.agent_memory_keys`)).toEqual([]);
    const restoredMemory = (await admin(
      `select tenant_id::text, agent_id::text, key, ciphertext from ${restored.schema}.agent_memory`,
    )) as MemoryRow[];
    expect(restoredMemory.map((row) => row.agent_id)).toEqual([survivor.id, survivor.id]);

    // Every key that exists anywhere now: live table, restored table, the archive itself.
    const everyKey = [
      ...(await admin(`select wrapped_key from ${live}.agent_memory_keys`)).map((r) => r.wrapped_key as string),
      ...(await admin(`select wrapped_key from ${restored.schema}.agent_memory_keys`)).map((r) => r.wrapped_key as string),
      ...wrappedKeysIn(archive.text),
    ];
    expect(await readableWith(everyKey, doomedInArchive)).toBe(0);
    expect(await readableWith(everyKey, restoredMemory)).toBe(2);
    // Through the API: the deleted agent is gone, the survivor's memory is intact.
    expect(await exported(tenant, doomed)).toEqual(['NOT_FOUND']);
    expect(await exported(tenant, survivor)).toEqual(expected(survivor));
  });
});

describe('into the same (enterprise) schema after losing it', () => {
  test('live agents get their live key back (from the mirror, never the archive) and their memory reads as before; the deleted one gets nothing', async () => {
    const { tenant, tenantId, doomed, survivor } = await tenantWithMemory('shred-same', true);
    const own = tenantSchemaName(tenantId);
    const liveKey = async () => admin(`select to_jsonb(k) as row from ${own}.agent_memory_keys k where agent_id = $1`, [survivor.id]);
    const [survivorKey] = await liveKey();
    const backup = await backupTenant(deps, operator, tenantId);
    expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: tenant.ownerToken }));
    // Crypto-shredding reached the mirror in the deleting transaction.
    expect(await admin('select agent_id::text from memory_key_escrow where tenant_id = $1', [tenantId])).toEqual([
      { agent_id: survivor.id },
    ]);
    await admin(`drop schema ${own} cascade`); // the loss: the key table goes with the schema
    const restored = await restoreTenant(deps, operator, { backupId: backup.backupId, into: 'SAME' });
    expect(restored.schema).toBe(own);
    expect(restored.memoryShredded).toEqual({ agents: 1, entries: 2 });
    expect(await admin(`select agent_id::text from ${own}.agent_memory_keys`)).toEqual([{ agent_id: survivor.id }]);
    expect(await liveKey()).toEqual([survivorKey]); // the very key it had
    expect(await admin(`select distinct agent_id::text from ${own}.agent_memory`)).toEqual([{ agent_id: survivor.id }]);
    // The deleted agent's row is back (it is in the archive), but none of its memory, by any path.
    expect(await exported(tenant, doomed)).toEqual([]);
    expect(await exported(tenant, survivor)).toEqual(expected(survivor));
    const archive = await openArchive(backup.backupId);
    const everyKey = [
      ...(await admin(`select wrapped_key from ${own}.agent_memory_keys`)).map((r) => r.wrapped_key as string),
      ...wrappedKeysIn(archive.text),
    ];
    const doomedRows = (archive.tables.agent_memory as MemoryRow[]).filter((row) => row.agent_id === doomed.id);
    expect(await readableWith(everyKey, doomedRows)).toBe(0);
    // Both write again; the restored one under a fresh key, which the mirror follows.
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'again', value: '1' } }, { token: survivor.token }));
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'again', value: '2' } }, { token: doomed.token }));
    expect((await admin('select count(*)::int as n from memory_key_escrow where tenant_id = $1', [tenantId]))[0]?.n).toBe(2);
  });
});

// A wipe destroys the agent's key; its next write makes a new one. Rows of an archive taken before
// the wipe were sealed under the destroyed key: restoring them beside rows under the new key left
// memory that no key opens (export refused until wiped again). Each row names its key (0019).
describe.each([
  ['enterprise, beside the live schema', true, 'NEW'],
  ['standard, beside the live tables', false, 'NEW'],
  ['enterprise, into its own schema after losing it', true, 'SAME'],
] as const)('an agent wiped and written again after the backup: restored %s', (_where, enterprise, into) => {
  test('its rows sealed under the destroyed key are not restored, and are counted; every restored row opens', async () => {
    const { tenant, tenantId, doomed: other, survivor: wiped } = await tenantWithMemory(`rewritten-${into}-${enterprise}`, enterprise);
    const live = enterprise ? tenantSchemaName(tenantId) : 'public';
    const backup = await backupTenant(deps, operator, tenantId);
    const archived = (await openArchive(backup.backupId)).tables.agent_memory as (MemoryRow & { key_id: string })[];
    expect(archived.map((row) => row.key_id).every(Boolean)).toBe(true);

    expectNoErrors(await gw.execute(WipeAgentMemory, { agentId: wiped.globalId }, { token: tenant.ownerToken }));
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'plan', value: '"after the wipe"' } }, { token: wiped.token }));
    const newKey = await admin(`select key_id::text from ${live}.agent_memory_keys where agent_id = $1`, [wiped.id]);
    expect(newKey).toHaveLength(1);
    expect(archived.filter((row) => row.agent_id === wiped.id).map((row) => row.key_id)).not.toContain(newKey[0]?.key_id);

    if (into === 'SAME') await admin(`drop schema ${live} cascade`);
    const restored = await restoreTenant(deps, operator, { backupId: backup.backupId, into });
    expect(restored.memoryShredded).toEqual({ agents: 1, entries: 2 });
    expect(restored.rows.agent_memory).toBe(2);
    const rows = (await admin(
      `select tenant_id::text, agent_id::text, key, ciphertext, key_id::text from ${restored.schema}.agent_memory`,
    )) as (MemoryRow & { key_id: string })[];
    expect(rows.map((row) => row.agent_id)).toEqual([other.id, other.id]);
    const liveKeys = (await admin('select wrapped_key from memory_key_escrow where tenant_id = $1', [tenantId])).map(
      (r) => r.wrapped_key as string,
    );
    expect(await readableWith(liveKeys, rows)).toBe(rows.length);

    // Through the API, never an error: beside, the live memory is untouched; into its own schema, the other
    // agent's memory reads as backed up and the wiped one has none (what it wrote since was lost with the schema).
    expect(await exported(tenant, other)).toEqual(expected(other));
    expect(await exported(tenant, wiped)).toEqual(into === 'SAME' ? [] : [['plan', '"after the wipe"']]);
  });
});

describe('the live key mirror (memory_key_escrow)', () => {
  test('follows every key table exactly: writes, wipes, deletions, KEK rewraps; the app role cannot touch it', async () => {
    const std = await tenantWithMemory('mirror-std', false);
    const ent = await tenantWithMemory('mirror-ent', true);
    const liveKeys = async () =>
      (
        await admin(
          `select agent_id::text, wrapped_key from agent_memory_keys where tenant_id = $1
           union all select agent_id::text, wrapped_key from ${tenantSchemaName(ent.tenantId)}.agent_memory_keys
           order by 1`,
          [std.tenantId],
        )
      ).map((r) => [r.agent_id, r.wrapped_key]);
    const mirrored = async () =>
      (
        await admin('select agent_id::text, wrapped_key from memory_key_escrow where tenant_id = any($1) order by 1', [
          [std.tenantId, ent.tenantId],
        ])
      ).map((r) => [r.agent_id, r.wrapped_key]);
    expect(await liveKeys()).toHaveLength(4);
    expect(await mirrored()).toEqual(await liveKeys());
    expectNoErrors(await gw.execute(DeleteAgent, { id: std.doomed.globalId }, { token: std.tenant.ownerToken }));
    expectNoErrors(await gw.execute(DeleteAgent, { id: ent.doomed.globalId }, { token: ent.tenant.ownerToken }));
    expect(await mirrored()).toEqual(await liveKeys());
    expect(await liveKeys()).toHaveLength(2);
    expectNoErrors(await gw.execute(WipeAgentMemory, { agentId: ent.survivor.globalId }, { token: ent.tenant.ownerToken }));
    expect(await liveKeys()).toHaveLength(1);
    expect(await mirrored()).toEqual(await liveKeys());
    expectNoErrors(await gw.execute(PutMemory, { input: { key: 'fresh', value: '1' } }, { token: ent.survivor.token }));
    expect(await liveKeys()).toHaveLength(2);
    expect(await mirrored()).toEqual(await liveKeys());
    await gw.keyProvider.rotate();
    await gw.fleetgate.keyRotation.poke();
    const after = await mirrored();
    expect(after).toEqual(await liveKeys());
    for (const [, wrapped] of after)
      expect(gw.keyProvider.versionOf(String(wrapped))).toBe(await gw.keyProvider.status().then((s) => s.latestVersion));

    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [std.tenantId]);
      await expect(client.query('select * from memory_key_escrow')).rejects.toMatchObject({ code: '42501' });
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });
});

/** An archive as the gateway wrote them before migrations/0012: with the key table in it. */
async function writeArchiveWithKeys(backupId: string, tables: Record<string, unknown[]>): Promise<string> {
  const old = JSON.parse(await readFile(join(deps.dir, backupId), 'utf8'));
  const createdAt = new Date(Date.parse(old.createdAt) + 1).toISOString();
  const dataKey = await gw.keyProvider.generateDataKey();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv);
  cipher.setAAD(Buffer.from(`${old.format}\n${old.tenantId}\n${createdAt}`));
  const ciphertext = Buffer.concat([cipher.update(gzipSync(JSON.stringify({ tables }))), cipher.final()]);
  const archive = {
    ...old,
    createdAt,
    wrappedKey: dataKey.wrapped,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
  const id = `${old.tenantId}-${createdAt.replace(/[-:.]/g, '')}.fgbackup`;
  await writeFile(join(deps.dir, id), JSON.stringify({ ...archive, ciphertext: ciphertext.toString('base64') }), { mode: 0o600 });
  return id;
}

describe('an archive written before the fix, which carries agent_memory_keys', () => {
  test('restores without a single key: the deleted agent’s memory stays shredded', async () => {
    const { tenant, tenantId, doomed, survivor } = await tenantWithMemory('shred-old-archive', true);
    const own = tenantSchemaName(tenantId);
    const keyRows = await admin(`select to_jsonb(k) as row from ${own}.agent_memory_keys k`);
    expect(keyRows).toHaveLength(2);
    const backup = await backupTenant(deps, operator, tenantId);
    const { tables } = await openArchive(backup.backupId);
    // The old format: the key table in, and memory rows that name no key (key_id came with 0019).
    const unnamed = (tables.agent_memory ?? []).map(({ key_id, ...row }) => row);
    const oldId = await writeArchiveWithKeys(backup.backupId, {
      ...tables,
      agent_memory: unnamed,
      agent_memory_keys: keyRows.map((r) => r.row),
    });
    expect(wrappedKeysIn((await openArchive(oldId)).text)).toHaveLength(2); // the old format did hold them
    expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: tenant.ownerToken }));

    const restored = await restoreTenant(deps, operator, { backupId: oldId, into: 'NEW' });
    expect(await admin(`select * from ${restored.schema}.agent_memory_keys`)).toEqual([]);
    expect(restored.memoryShredded).toEqual({ agents: 1, entries: 2 });
    // The survivor's rows are taken as sealed under its live key, as they were.
    const named = `select count(*)::int as n from ${restored.schema}.agent_memory m join ${own}.agent_memory_keys k using (agent_id, key_id)`;
    expect(await admin(named)).toEqual([{ n: 2 }]);
    const doomedRows = (tables.agent_memory as MemoryRow[]).filter((row) => row.agent_id === doomed.id);
    const everyKey = [
      ...(await admin(`select wrapped_key from ${own}.agent_memory_keys`)).map((r) => r.wrapped_key as string),
      ...(await admin(`select wrapped_key from ${restored.schema}.agent_memory_keys`)).map((r) => r.wrapped_key as string),
    ];
    expect(await readableWith(everyKey, doomedRows)).toBe(0);
    expect(await exported(tenant, survivor)).toEqual(expected(survivor));
  });

  test('the database refuses to take a key from an archive even when the gateway passes one on', async () => {
    const { tenantId, doomed } = await tenantWithMemory('shred-sql', false);
    const [keyRow] = await admin('select to_jsonb(k) as row from agent_memory_keys k where agent_id = $1', [doomed.id]);
    const report = await gw.orm.em.fork().transactional(async (em) => {
      await em.execute("select set_config('app.operator', 'on', true)");
      const [row] = await em.execute<{ report: { rows: Record<string, number> } }[]>(
        'select restore_tenant_rows(?, ?, ?::jsonb) as report',
        [
          tenantId,
          `${tenantSchemaName(tenantId)}_restore_sqlonly`,
          JSON.stringify({
            agents: await admin('select to_jsonb(a) as row from agents a where id = $1', [doomed.id]).then((r) => r.map((x) => x.row)),
            agent_memory_keys: [keyRow?.row],
          }),
        ],
      );
      return row?.report;
    });
    expect(report?.rows).toMatchObject({ agents: 1 });
    expect(report?.rows).not.toHaveProperty('agent_memory_keys');
    expect(await admin(`select * from ${tenantSchemaName(tenantId)}_restore_sqlonly.agent_memory_keys`)).toEqual([]);
  });
});

const RestoreTenant = graphql(`
  mutation RestoreTenantShredded($backupId: String!, $into: RestoreTarget!) {
    restoreTenant(backupId: $backupId, into: $into) { schema rows memoryShreddedAgents memoryShreddedEntries }
  }
`);

test('through the API the operator sees how many agents’ memory was shredded; the tenant’s log records it', async () => {
  const { tenant, tenantId, doomed } = await tenantWithMemory('shred-api', false);
  const backup = await backupTenant(deps, operator, tenantId);
  expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: tenant.ownerToken }));
  const { restoreTenant: restored } = expectNoErrors(
    await gw.execute(RestoreTenant, { backupId: backup.backupId, into: 'NEW' }, { token: operatorToken }),
  );
  expect(restored).toMatchObject({ memoryShreddedAgents: 1, memoryShreddedEntries: 2 });
  expect(restored.rows).not.toHaveProperty('agent_memory_keys');
  const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 50 }, { token: tenant.ownerToken }));
  expect(auditLog.edges.map((e) => e.node.action)).toContain('tenant.restore');
  const [event] = await admin("select detail from audit_events where tenant_id = $1 and action = 'tenant.restore'", [tenantId]);
  expect(event?.detail).toMatchObject({ memoryShredded: { agents: 1, entries: 2 } });
});

const UpgradeToEnterprise = graphql(`
  mutation UpgradeForShredding($id: ID!) {
    upgradeTenantToEnterprise(id: $id) { id plan }
  }
`);

test('a tenant upgraded to enterprise keeps its mirrored keys: a SAME restore after losing its schema brings its memory back', async () => {
  const { tenant, tenantId, doomed, survivor } = await tenantWithMemory('shred-upgraded', false);
  expectNoErrors(await gw.execute(UpgradeToEnterprise, { id: tenant.id }, { token: operatorToken }));
  const own = tenantSchemaName(tenantId);
  expect(await admin(`select count(*)::int as n from ${own}.agent_memory_keys`)).toEqual([{ n: 2 }]);
  expect(await admin('select count(*)::int as n from memory_key_escrow where tenant_id = $1', [tenantId])).toEqual([{ n: 2 }]);
  const backup = await backupTenant(deps, operator, tenantId);
  expectNoErrors(await gw.execute(DeleteAgent, { id: doomed.globalId }, { token: tenant.ownerToken }));
  await admin(`drop schema ${own} cascade`);
  const restored = await restoreTenant(deps, operator, { backupId: backup.backupId, into: 'SAME' });
  expect(restored.memoryShredded).toEqual({ agents: 1, entries: 2 });
  expect(await exported(tenant, survivor)).toEqual(expected(survivor));
  expect(await exported(tenant, doomed)).toEqual([]);
});
