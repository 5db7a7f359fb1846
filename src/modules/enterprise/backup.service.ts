import { createHash } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IsolationLevel, type MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import { forkForOperator, forkForTenant, tenantSchemaName } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import { aead, type KeyProvider, type WrappedKeyHolder } from '../../keys/index.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { isUuid, UUID_PATTERN } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { Tenant } from '../tenants/tenant.entity.ts';
import * as store from './enterprise.store.ts';

const FORMAT = 'fleetgate-backup-v1';
/**
 * Tables no archive ever holds, and no restore ever fills (the database enforces both as well:
 * tenant_backup_tables and restore_tenant_rows, migrations/functions/backups.sql): a deleted agent's data key must be gone from every copy the moment it is deleted.
 */
const NEVER_BACKED_UP: readonly string[] = ['agent_memory_keys'];
const BACKUP_ID = new RegExp(`^(${UUID_PATTERN})-(\\d{8}T\\d{9}Z)\\.fgbackup$`);

/** What the gateway is configured with for backups: the key provider wrapping archive keys (each region has its own directory, Region.backupDir). */
export interface BackupAccess {
  keys: KeyProvider;
}

/** The tenant an archive name claims (names start with the tenant id); restoreTenant checks it against the archive. */
export function tenantOfBackup(backupId: string): string {
  return backupId.slice(0, 36);
}

export interface BackupDeps {
  orm: MikroORM;
  /** Wraps each archive's fresh data key (src/keys/key-provider.ts). */
  keys: KeyProvider;
  /** Where archives are written and read from; a restore names an archive in it, never a path. */
  dir: string;
  log: Logger;
}

/** One archive on disk: everything needed to restore it except the key provider. */
export interface ArchiveFile {
  format: typeof FORMAT;
  tenantId: string;
  createdAt: string;
  provider: KeyProvider['kind'];
  wrappedKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/**
 * Backup archives as a holder of wrapped data keys: a KEK rotation rewraps each archive's key in
 * place (the archive is rewritten atomically; its ciphertext is untouched) before an old version is
 * retired, so old backups stay restorable. Only archives in `dir` are known: an archive copied
 * elsewhere keeps its old wrapping and stops opening once that version is retired.
 */
export function backupArchiveKeyHolder(dir: string, keys: KeyProvider): WrappedKeyHolder {
  const archivesBelow = async (version: number): Promise<string[]> => {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const below: string[] = [];
    for (const name of names.filter((n) => BACKUP_ID.test(n))) {
      const archive = JSON.parse(await readFile(join(dir, name), 'utf8')) as ArchiveFile;
      if (keys.versionOf(archive.wrappedKey) < version) below.push(name);
    }
    return below;
  };
  return {
    name: 'backup_archives',
    countBelow: async (version) => (await archivesBelow(version)).length,
    async rewrapBelow(version, limit) {
      const names = (await archivesBelow(version)).slice(0, limit);
      for (const name of names) {
        const path = join(dir, name);
        const archive = JSON.parse(await readFile(path, 'utf8')) as ArchiveFile;
        const rewrapped: ArchiveFile = { ...archive, wrappedKey: await keys.rewrapDataKey(archive.wrappedKey) };
        await writeFile(`${path}.rewrap`, JSON.stringify(rewrapped), { mode: 0o600 });
        await rename(`${path}.rewrap`, path);
      }
      return names.length;
    },
  };
}

export interface BackupResult {
  backupId: string;
  sha256: string;
  bytes: number;
  rows: Record<string, number>;
}

/**
 * Writes one tenant's rows, every tenant table but agent memory's data keys (`tenant_backup_tables()`,
 * migrations/functions/backups.sql: crypto-shredding must reach backups), to a self-contained encrypted archive: gzip'd JSON
 * under AES-256-GCM with a fresh data key, the key wrapped by the KeyProvider, and the tenant id
 * and time bound in as additional authenticated data (an archive relabelled for another tenant
 * does not decrypt). The rows are read in one REPEATABLE READ snapshot through the app role bound
 * to that tenant (RLS setting and search_path, the same walls as its own requests) with an explicit
 * tenant_id condition on top, so an archive can only ever hold that tenant's rows. Both tiers.
 *
 * Operators only: backups are a platform duty; the operator receives an id and counts, never rows.
 */
export async function backupTenant(deps: BackupDeps, principal: Principal, tenantId: string): Promise<BackupResult> {
  assertCan(principal, 'platform.enterprise.manage');
  await requireTenant(deps.orm, tenantId);
  const tables = await forkForTenant(deps.orm, tenantId).transactional(
    async (em) => {
      const names = await store.backupTables(em);
      if (names.some((name) => NEVER_BACKED_UP.includes(name))) throw new Error('backup refused: the table list names agent memory keys');
      const rows: Record<string, unknown[]> = {};
      for (const name of names) {
        rows[name] = await store.rowsOf(em, name, tenantId);
      }
      return rows;
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ },
  );
  const createdAt = new Date().toISOString();
  const dataKey = await deps.keys.generateDataKey();
  let sealed: Pick<ArchiveFile, 'iv' | 'tag' | 'ciphertext'>;
  try {
    sealed = sealArchiveBody(dataKey.plaintext, tenantId, createdAt, gzipSync(JSON.stringify({ tables })));
  } finally {
    dataKey.plaintext.fill(0);
  }
  const archive: ArchiveFile = { format: FORMAT, tenantId, createdAt, provider: deps.keys.kind, wrappedKey: dataKey.wrapped, ...sealed };
  const body = JSON.stringify(archive);
  const backupId = `${tenantId}-${createdAt.replace(/[-:.]/g, '')}.fgbackup`;
  await mkdir(deps.dir, { recursive: true, mode: 0o700 });
  await writeWhole(join(deps.dir, backupId), body);
  const rows = Object.fromEntries(Object.entries(tables).map(([name, list]) => [name, list.length]));
  deps.log.info({ tenantId, backupId, rows }, 'tenant backup written');
  return { backupId, sha256: createHash('sha256').update(body).digest('hex'), bytes: Buffer.byteLength(body), rows };
}

/**
 * Writes an archive so that its name appears only once every byte is on disk: into `<name>.partial`
 * (a name no listing, restore or rewrap takes for a backup), flushed, then linked to its name (which
 * fails rather than replace an archive) and the partial removed. A gateway killed mid-write (see
 * test/chaos-backup-kill.test.ts) used to leave a truncated archive under a backup's name, which no
 * restore could open and on which every later KEK rewrap pass failed, so no version could retire.
 * A crash leaves at most an inert `.partial` file, removed by hand or by the next write of that name.
 */
async function writeWhole(path: string, body: string): Promise<void> {
  const partial = `${path}.partial`;
  try {
    const file = await open(partial, 'w', 0o600);
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    await link(partial, path);
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}

const restoreInput = z.object({
  backupId: z.string().regex(BACKUP_ID),
  /** SAME: the tenant's own (enterprise) schema, which must be empty; NEW: a fresh schema beside it, to inspect. */
  into: z.enum(['SAME', 'NEW']),
});

export interface RestoreResult {
  tenantId: string;
  schema: string;
  rows: Record<string, number>;
  /**
   * Memory in the archive that was NOT restored because its agent has no live data key any more
   * (deleted or wiped since the backup): it could never be opened again, and no archive holds a key.
   */
  memoryShredded: { agents: number; entries: number };
}

/**
 * Brings an archive back: decrypts it (a tampered or relabelled archive fails authentication) and
 * hands the rows to restore_tenant_rows(), which checks as the owner that the target is a schema of
 * that tenant, empty, and pinned to it, and keeps ids, times and the audit chain exactly.
 * Agent memory's data keys never come from an archive: memory rows are restored only for agents
 * that still have a live key (the mirror memory_key_escrow, kept by memory_key_escrow_follow in
 * migrations/functions/memory.sql, which outlives a lost schema); the others are counted, not restored. Into SAME the live keys of the restored agents are
 * put back from the mirror; into NEW no key is copied (the live key opens those rows while it lives).
 *
 * Operators only, like backups; the rows pass through the gateway's memory, never the operator's answer.
 */
export async function restoreTenant(deps: BackupDeps, principal: Principal, input: unknown): Promise<RestoreResult> {
  assertCan(principal, 'platform.enterprise.manage');
  const { backupId, into } = parseRestoreInput(input);
  const archive = JSON.parse(await readArchive(deps.dir, backupId)) as ArchiveFile;
  if (archive.format !== FORMAT || `${archive.tenantId}-` !== backupId.slice(0, 37)) throw badInput('Not a backup of this gateway');
  const dataKey = await deps.keys.unwrapDataKey(archive.wrappedKey);
  let plaintext: Buffer;
  try {
    plaintext = openArchiveBody(dataKey, archive);
  } catch {
    throw badInput('The backup does not authenticate: damaged, altered or not for this tenant');
  } finally {
    dataKey.fill(0);
  }
  const { tables } = JSON.parse(gunzipSync(plaintext).toString('utf8')) as { tables: Record<string, unknown[]> };
  // An archive written before migrations/0012 still carries memory keys: they never come back.
  const ignoredKeyRows = NEVER_BACKED_UP.reduce((n, name) => n + (tables[name]?.length ?? 0), 0);
  for (const name of NEVER_BACKED_UP) delete tables[name];
  await requireTenant(deps.orm, archive.tenantId);
  const own = tenantSchemaName(archive.tenantId);
  const schema = into === 'SAME' ? own : `${own}_restore_${Date.parse(archive.createdAt).toString(36)}`;
  const report = await forkForOperator(deps.orm).transactional((em) => store.restoreTenantRows(em, archive.tenantId, schema, tables));
  const memoryShredded = report?.memory_shredded ?? { agents: 0, entries: 0 };
  deps.log.info({ tenantId: archive.tenantId, backupId, schema, memoryShredded, ignoredKeyRows }, 'tenant backup restored');
  return { tenantId: archive.tenantId, schema, rows: report?.rows ?? {}, memoryShredded };
}

/** An archive's text; a name with no archive behind it is NOT_FOUND (it was a masked error before). */
async function readArchive(dir: string, backupId: string): Promise<string> {
  try {
    return await readFile(join(dir, backupId), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('Backup', backupId);
    throw error;
  }
}

function parseRestoreInput(input: unknown) {
  const parsed = restoreInput.safeParse(input);
  if (!parsed.success) throw badInput('Invalid backup id or target');
  return parsed.data;
}

async function requireTenant(orm: MikroORM, tenantId: string): Promise<void> {
  const exists = isUuid(tenantId) ? await forkForOperator(orm).count(Tenant, { id: tenantId }, { filters: { [TENANT_FILTER]: false } }) : 0;
  if (!exists) throw notFound('Tenant');
}

/**
 * An archive's body under AES-256-GCM (`aead`), the tenant id and the time bound in as additional
 * data (`fleetgate-backup-v1\n<tenant>\n<time>`), the parts stored base64 in the archive's JSON.
 */
export function sealArchiveBody(
  dataKey: Buffer,
  tenantId: string,
  createdAt: string,
  body: Buffer,
): Pick<ArchiveFile, 'iv' | 'tag' | 'ciphertext'> {
  const { nonce, tag, ciphertext } = aead.sealParts(dataKey, body, aadOf(tenantId, createdAt));
  return { iv: nonce.toString('base64'), tag: tag.toString('base64'), ciphertext: ciphertext.toString('base64') };
}

/** The body of an archive; throws when it is damaged, altered or relabelled for another tenant or time. */
export function openArchiveBody(
  dataKey: Buffer,
  archive: Pick<ArchiveFile, 'tenantId' | 'createdAt' | 'iv' | 'tag' | 'ciphertext'>,
): Buffer {
  const parts = {
    nonce: Buffer.from(archive.iv, 'base64'),
    tag: Buffer.from(archive.tag, 'base64'),
    ciphertext: Buffer.from(archive.ciphertext, 'base64'),
  };
  return aead.openParts(dataKey, parts, aadOf(archive.tenantId, archive.createdAt));
}

function aadOf(tenantId: string, createdAt: string): Buffer {
  return Buffer.from(`${FORMAT}\n${tenantId}\n${createdAt}`);
}
