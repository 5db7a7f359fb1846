import { watch } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { type BackupDeps, backupTenant, restoreTenant } from '../src/modules/enterprise/backup.service.ts';
import { graphql } from './gql/index.ts';
import { uuidOf } from './support/audit.ts';
import { spawnGateway } from './support/child-gateway.ts';
import { CredentialKeyStatus, RotateCredentialKey } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { waitUntil } from './support/wait.ts';

const ChaosBackupTenant = graphql(`
  mutation ChaosBackupTenant($id: ID!) {
    backupTenant(id: $id) { backupId sha256 bytes rows }
  }
`);

const operator = { kind: 'operator', operatorId: 'op' } as const;

/**
 * Chaos: the gateway process taking a tenant backup is SIGKILLed, while it reads the rows and while
 * it writes the archive. Afterwards no half archive looks like a backup: every archive under its
 * final name decrypts and restores whole, a KEK rotation (which rewraps every archive) completes,
 * and the next backup of the tenant succeeds. The in-process gateway plays the replica that stays.
 */
describe('chaos: the gateway killed during a backup', () => {
  let gw: Gateway;
  let deps: BackupDeps;
  let tenantId: string;
  let tenantGlobalId: string;
  let operatorToken: string;

  beforeAll(async () => {
    const backups = { dir: await mkdtemp(join(tmpdir(), 'fleetgate-chaos-backups-')) };
    gw = await startGateway({ backups });
    deps = { ...backups, keys: gw.keyProvider, orm: gw.orm, log: gw.log };
    operatorToken = await gw.operator.token();
    const tenant = await gw.seed.tenant('chaos-backup', { enterpriseBy: operatorToken });
    tenantGlobalId = tenant.id;
    tenantId = uuidOf(tenant.id);
    // A few megabytes of archive (random, so gzip keeps them): writing it takes many writes, not one.
    await adminQuery(
      gw.database.adminUrl,
      `insert into ${tenantSchemaName(tenantId)}.agents (id, tenant_id, name, image, config, created_by)
       select gen_random_uuid(), $1, 'bulk-' || n, 'fleetgate/agent:1',
              jsonb_build_object('blob', (select string_agg(md5(random()::text), '') from generate_series(1, 40))), 'chaos'
         from generate_series(1, 2500) n`,
      [tenantId],
    );
  }, 90_000);
  afterAll(async () => {
    await gw?.close();
    if (deps) await rm(deps.dir, { recursive: true, force: true });
  });

  const child = () => spawnGateway('crash-gateway', { APP_URL: gw.appUrl, KEYRING_DIR: gw.keyringDir, BACKUP_DIR: deps.dir });
  const backupVia = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorToken}` },
      body: JSON.stringify({ query: 'mutation B($id: ID!) { backupTenant(id: $id) { backupId } }', variables: { id: tenantGlobalId } }),
    }).catch(() => 'connection lost');

  test('killed while reading the rows (held on a lock): no archive at all', async () => {
    const gateway = await child();
    const holder = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: gw.database.adminUrl }));
    await holder.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE ${tenantSchemaName(tenantId)}.agents IN ACCESS EXCLUSIVE MODE`);
      let settled: unknown;
      const request = backupVia(gateway.url).then(async (answer) => {
        settled = typeof answer === 'string' ? answer : await answer.text();
        return answer;
      });
      // Asked on a connection of its own: inside the holder's transaction pg_stat_activity is a
      // snapshot taken at its first read, which would never see the backup start waiting.
      await waitUntil(
        async () =>
          settled ??
          (
            await adminQuery<{ n: number }>(
              gw.database.adminUrl,
              "select count(*)::int as n from pg_stat_activity where datname = current_database() and usename = 'fleetgate_app' and wait_event_type = 'Lock'",
            )
          ).rows[0]?.n,
        40_000,
        'the backup to wait on the lock',
      );
      expect(settled).toBeUndefined(); // still waiting on the lock when killed
      await gateway.kill();
      expect(await request).toBe('connection lost');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await gateway.kill();
    }
    expect(await readdir(deps.dir)).toEqual([]);
  }, 60_000);

  test('killed while writing the archive: no half archive under a backup’s name; rotation and the next backup work', async () => {
    const gateway = await child();
    // The moment any file appears in the backup directory, the writer dies.
    const watcher = watch(deps.dir, () => gateway.child.kill('SIGKILL'));
    try {
      const answer = await backupVia(gateway.url);
      await gateway.kill();
      // Had the write finished before the kill landed, the answer is the backup: then it must be whole too.
      if (typeof answer !== 'string') expect(answer.status).toBe(200);
    } finally {
      watcher.close();
      await gateway.kill();
    }

    // Every archive under a backup's name restores whole; anything else is not a backup.
    const archives = (await readdir(deps.dir)).filter((name) => name.endsWith('.fgbackup'));
    for (const backupId of archives) {
      const restored = await restoreTenant(deps, operator, { backupId, into: 'NEW' });
      expect(restored.rows.agents).toBe(2500);
      await adminQuery(gw.database.adminUrl, `drop schema ${restored.schema} cascade`);
    }
    // A KEK rotation rewraps every archive and retires the old version: no debris stops it.
    expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operatorToken }));
    await gw.fleetgate.keyRotation.idle();
    await gw.fleetgate.keyRotation.poke();
    expect(expectNoErrors(await gw.execute(CredentialKeyStatus, {}, { token: operatorToken })).credentialKeyStatus).toMatchObject({
      pendingRewrap: 0,
      minDecryptionVersion: 2,
    });
    // And the next backup of the tenant is whole.
    const next = expectNoErrors(await gw.execute(ChaosBackupTenant, { id: tenantGlobalId }, { token: operatorToken })).backupTenant;
    expect(next.rows.agents).toBe(2500);
    await backupTenant(deps, operator, tenantId); // and once more, straight through the service
  }, 90_000);
});
