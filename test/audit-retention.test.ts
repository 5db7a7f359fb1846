import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { publicKeyFromPem } from '../src/modules/audit/chain.ts';
import { verifyAuditReport } from '../src/modules/audit/report.ts';
import { applyAuditRetention, runAuditRetention } from '../src/modules/audit/retention.ts';
import { asOwner, seedTenantWithHistory } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditSigningKey, CreateAgent, ExportAuditReport, VerifyAuditLog } from './support/operations.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

const deps = () => ({ orm: gw.orm, auditKey: gw.keyring.auditKey, log: gw.log });

/** A tenant with 50 events from 400 days ago, then one fresh event through the API. */
async function oldTenant() {
  const { tenantId, ownerId } = await seedTenantWithHistory(gw.database.adminUrl, { count: 50, daysAgo: 400 });
  const token = (await gw.tokens.issue({ kind: 'user', tenantId, userId: ownerId, role: 'OWNER' })).reveal();
  expectNoErrors(await gw.execute(CreateAgent, { input: { name: 'fresh', image: 'fleetgate/agent:1' } }, { token }));
  return { tenantId, token };
}

async function verify(token: string) {
  return expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token })).verifyAuditLog;
}

async function seqs(tenantId: string) {
  const { rows } = await adminQuery<{ seq: string }>(
    gw.database.adminUrl,
    'select seq::text from audit_events where tenant_id = $1 order by seq',
    [tenantId],
  );
  return rows.map((row) => row.seq);
}

describe('retention', () => {
  test('drops events older than the retention behind a signed checkpoint; the chain and a fresh report still verify', async () => {
    const { tenantId, token } = await oldTenant();
    expect((await verify(token)).eventsChecked).toBe(51);

    expect(await applyAuditRetention(deps(), tenantId)).toEqual({ tenantId, status: 'dropped', throughSeq: '50', dropped: 50 });
    expect(await seqs(tenantId)).toEqual(['51', '52']); // the fresh event, then the retention event itself
    expect(await verify(token)).toMatchObject({ intact: true, eventsChecked: 2, firstSeq: '51', lastSeq: '52', checkpointSeq: '50' });

    const { exportAuditReport } = expectNoErrors(
      await gw.execute(ExportAuditReport, { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' }, { token }),
    );
    const { auditSigningKey } = expectNoErrors(await gw.execute(AuditSigningKey, {}));
    expect(verifyAuditReport({ ...exportAuditReport, publicKey: publicKeyFromPem(auditSigningKey.publicKeyPem) })).toMatchObject({
      ok: true,
    });
    expect(JSON.parse(exportAuditReport.ndjson.split('\n')[1] ?? '{}')).toMatchObject({ action: 'audit.retention', actorType: 'SYSTEM' });

    // Nothing more to drop; new events keep chaining after the cut.
    expect(await applyAuditRetention(deps(), tenantId)).toEqual({ tenantId, status: 'nothing-to-drop' });
    expectNoErrors(await gw.execute(CreateAgent, { input: { name: 'later', image: 'fleetgate/agent:1' } }, { token }));
    expect(await verify(token)).toMatchObject({ intact: true, lastSeq: '54' }); // 53 is the export's own event
  });

  test('the job runs over every tenant, and young logs are left alone', async () => {
    const young = await gw.seed.tenant();
    await young.agent();
    const { tenantId } = await oldTenant();
    const outcomes = await runAuditRetention(deps());
    expect(outcomes).toContainEqual({ tenantId, status: 'dropped', throughSeq: '50', dropped: 50 });
    expect(outcomes.filter((outcome) => outcome.status === 'dropped')).toHaveLength(1);
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
  });

  test('tampering after truncation is still caught', async () => {
    const edited = await oldTenant();
    await applyAuditRetention(deps(), edited.tenantId);
    await asOwner(gw.database.adminUrl, edited.tenantId, ["update audit_events set actor_id = 'x' where seq = 51"], { replica: true });
    expect((await verify(edited.token)).brokenAt).toMatchObject({ seq: '51', reason: 'HASH_MISMATCH' });

    const cutDeeper = await oldTenant();
    await applyAuditRetention(deps(), cutDeeper.tenantId);
    await asOwner(gw.database.adminUrl, cutDeeper.tenantId, ['delete from audit_events where seq = 51'], { replica: true });
    expect((await verify(cutDeeper.token)).brokenAt).toMatchObject({ seq: '52', reason: 'MISSING_START' });

    const forgedCheckpoint = await oldTenant();
    await applyAuditRetention(deps(), forgedCheckpoint.tenantId);
    await asOwner(
      gw.database.adminUrl,
      forgedCheckpoint.tenantId,
      [
        `create temp table cp as select * from audit_checkpoints`,
        'delete from audit_checkpoints',
        `insert into audit_checkpoints (tenant_id, seq, hash, key_id, signature) select tenant_id, seq, hash, key_id, sha512('forged') from cp`,
      ],
      { replica: true },
    );
    expect((await verify(forgedCheckpoint.token)).brokenAt).toMatchObject({ seq: '50', reason: 'BAD_CHECKPOINT' });
  });

  test('a broken chain is never checkpointed: retention refuses and drops nothing', async () => {
    const { tenantId } = await oldTenant();
    await asOwner(gw.database.adminUrl, tenantId, ["update audit_events set action = 'x' where seq = 10"], { replica: true });
    expect(await applyAuditRetention(deps(), tenantId)).toEqual({ tenantId, status: 'refused-broken-chain', brokenAtSeq: '10' });
    expect(await seqs(tenantId)).toHaveLength(51);
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from audit_checkpoints where tenant_id = $1', [
      tenantId,
    ]);
    expect(rows).toEqual([{ n: 0 }]);
  });

  test('checkpoints are append-only, even for the owner', async () => {
    const { tenantId } = await oldTenant();
    await applyAuditRetention(deps(), tenantId);
    for (const statement of ['update audit_checkpoints set seq = 1', 'delete from audit_checkpoints', 'truncate audit_checkpoints']) {
      await expect(asOwner(gw.database.adminUrl, tenantId, [statement])).rejects.toThrow(/append-only/);
    }
  });

  test('the app role cannot drop events without a matching checkpoint, nor young ones with one', async () => {
    const { tenantId } = await oldTenant();
    const young = await gw.seed.tenant();
    const youngId = Buffer.from(young.id, 'base64').toString().split(':')[1] ?? '';
    await young.agent();
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    const attempt = async (tenant: string, sql: string, params: unknown[]) => {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [tenant]);
      try {
        await client.query(sql, params);
      } finally {
        await client.query('rollback');
      }
    };
    try {
      await expect(attempt(tenantId, 'select audit_drop_through($1, 50)', [tenantId])).rejects.toThrow(/no checkpoint/);
      // A checkpoint the app role writes itself (it may insert them) does not make young events droppable.
      const { rows } = await adminQuery(
        gw.database.adminUrl,
        "select encode(hash, 'hex') as hash from audit_events where tenant_id = $1 and seq = 2",
        [youngId],
      );
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [youngId]);
      await client.query(
        `insert into audit_checkpoints (tenant_id, seq, hash, key_id, signature) values ($1, 2, decode($2, 'hex'), 'k', sha512('x'))`,
        [youngId, rows[0]?.hash],
      );
      await expect(client.query('select audit_drop_through($1, 2)', [youngId])).rejects.toThrow(/within retention/);
      await client.query('rollback');
    } finally {
      await client.end();
    }
    expect(await seqs(youngId)).toEqual(['1', '2']);
  });
});
