import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { OPERATOR_SETTING } from '../../db/request-scope.ts';
import { selectRow, selectRows, timestamp } from '../../db/rows.ts';
import { refusalAsConflict } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { CertificateFile } from './deletion-certificate.ts';

/**
 * The tenants module's raw SQL: the deletion record (`tenant_deletions`) and the erasure functions of
 * migrations/functions/deletion.sql, and the database's region. Each function runs in the transaction
 * it is handed; the callers choose it (the request's, an operator's, the erasure's under the tenant).
 */

/** The steps of an erasure in order; `tenant_deletions.step` holds the last one completed. */
export const ERASURE_STEPS = [
  'REQUESTED',
  'ERASING',
  'RUNTIME_REMOVED',
  'KEYS_DESTROYED',
  'BACKUPS_SHREDDED',
  'ROWS_DELETED',
  'CERTIFIED',
] as const;
export type ErasureStep = (typeof ERASURE_STEPS)[number];

/** What the steps recorded in `tenant_deletions.progress`. */
export interface Progress {
  runtime?: { containers: number; volumes: number; networks: number; engine: string };
  destroyedKeys?: Record<'credentialKeys' | 'memoryKeys' | 'memoryKeyEscrow' | 'sharingKeys', string[]>;
  backupArchives?: string[];
  rows?: Record<string, number>;
}

const deletionRow = z
  .object({
    tenant_id: z.string(),
    step: z.enum(ERASURE_STEPS),
    requested_at: timestamp,
    due_at: timestamp,
    attempts: z.number(),
    last_error: z.string().nullable(),
    erased_at: timestamp.nullable(),
    /** Written by finish_tenant_deletion from the signed file the erasure made; read back as it was written. */
    certificate: z.custom<CertificateFile>((value) => typeof value === 'object').nullable(),
  })
  .transform((row) => ({
    tenantId: row.tenant_id,
    step: row.step,
    requestedAt: row.requested_at,
    dueAt: row.due_at,
    attempts: row.attempts,
    lastError: row.last_error,
    erasedAt: row.erased_at,
    certificate: row.certificate,
  }));
export type DeletionRecord = z.output<typeof deletionRow>;

const DELETION_COLUMNS = 'tenant_id, step, requested_at, due_at, attempts, last_error, erased_at, certificate';

/** The tenant's deletion record, or undefined when none was asked for. */
export function deletionOf(em: EntityManager, tenantId: string): Promise<DeletionRecord | undefined> {
  return selectRow(em, deletionRow, `select ${DELETION_COLUMNS} from tenant_deletions where tenant_id = ?`, [tenantId]);
}

const dueRow = z.object({ due: timestamp });

/**
 * request_tenant_deletion: records the owner's request and sets DELETION_PENDING; answers when the
 * erasure is due. The function's refusals (not an owner, not ACTIVE) become CONFLICT.
 */
export async function requestDeletion(
  em: EntityManager,
  tenantId: string,
  userId: string,
  graceSeconds: number,
): Promise<Date | undefined> {
  const row = await selectRow(em, dueRow, 'select request_tenant_deletion(?, ?, ?) as due', [tenantId, userId, graceSeconds]).catch(
    refusalAsConflict('request_tenant_deletion'),
  );
  return row?.due;
}

/** cancel_tenant_deletion: refused (CONFLICT) once the erasure has begun. */
export async function cancelDeletion(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select cancel_tenant_deletion(?)', [tenantId]).catch(refusalAsConflict('cancel_tenant_deletion'));
}

const tenantIdRow = z.object({ tenant_id: z.string() });

/** The tenants whose grace period is over and whose erasure is not yet CERTIFIED, the longest due first. */
export async function dueDeletions(em: EntityManager): Promise<string[]> {
  const rows = await selectRows(
    em,
    tenantIdRow,
    "select tenant_id from tenant_deletions where step <> 'CERTIFIED' and due_at <= now() order by due_at, tenant_id",
  );
  return rows.map((row) => row.tenant_id);
}

/** Counts a failed attempt and keeps its message (cut to 500 characters). */
export async function noteDeletionFailure(em: EntityManager, tenantId: string, message: string): Promise<void> {
  await em.execute('select note_tenant_deletion_failure(?, ?)', [tenantId, message.slice(0, 500)]);
}

const idRow = z.object({ id: z.string() });

/** The ids of the tenant's agents (run under the tenant). */
export async function agentIdsOf(em: EntityManager, tenantId: string): Promise<string[]> {
  const rows = await selectRows(em, idRow, 'select id from agents where tenant_id = ?', [tenantId]);
  return rows.map((row) => row.id);
}

/** The erasure functions refuse a transaction without the operator setting; the erasure's transactions set it first. */
export async function enterErasure(em: EntityManager): Promise<void> {
  await em.execute('select set_config(?, ?, true)', [OPERATOR_SETTING, 'on']);
}

const stepRow = z.object({ step: z.enum(ERASURE_STEPS) });

/** Locks the deletion record for this transaction and answers the step it is at. */
export async function lockDeletion(em: EntityManager, tenantId: string): Promise<ErasureStep | undefined> {
  return (await selectRow(em, stepRow, 'select lock_tenant_deletion(?) as step', [tenantId]))?.step;
}

/** Records that the erasure moved from `from` to `to`, merging `progress` into what earlier steps recorded. */
export async function advanceDeletion(
  em: EntityManager,
  tenantId: string,
  from: ErasureStep,
  to: ErasureStep,
  progress: Progress,
): Promise<void> {
  await em.execute('select advance_tenant_deletion(?, ?, ?, ?::jsonb)', [tenantId, from, to, JSON.stringify(progress)]);
}

const destroyedKeys = z.record(z.string(), z.array(z.string())) as z.ZodType<NonNullable<Progress['destroyedKeys']>>;

const destroyedKeysRow = z.object({ keys: destroyedKeys });

/** destroy_tenant_keys: deletes every wrapped data key of the tenant; answers their ids by kind (credentialKeys, memoryKeys, …). */
export async function destroyTenantKeys(em: EntityManager, tenantId: string): Promise<Progress['destroyedKeys']> {
  const row = await selectRow(em, destroyedKeysRow, 'select destroy_tenant_keys(?) as keys', [tenantId]);
  return row?.keys ?? ({} as Progress['destroyedKeys']);
}

const countsRow = z.object({ counts: z.record(z.string(), z.number()) });

/** erase_tenant_rows: deletes every row of the tenant in both tiers but the audit log; answers the counts by table. */
export async function eraseTenantRows(em: EntityManager, tenantId: string): Promise<Record<string, number>> {
  const row = await selectRow(em, countsRow, 'select erase_tenant_rows(?) as counts', [tenantId]);
  return row?.counts ?? {};
}

const certifiedRow = z.object({
  requested_at: timestamp,
  due_at: timestamp,
  progress: z.custom<Progress>((value) => typeof value === 'object' && value !== null),
  plan: z.string(),
  audit_retention_days: z.number(),
});

/** What the certificate states of the deletion and its tenant. */
export async function certificateFacts(em: EntityManager, tenantId: string) {
  const row = await selectRow(
    em,
    certifiedRow,
    `select d.requested_at, d.due_at, d.progress, t.plan, t.audit_retention_days
       from tenant_deletions d join tenants t on t.id = d.tenant_id where d.tenant_id = ?`,
    [tenantId],
  );
  return (
    row && {
      requestedAt: row.requested_at,
      dueAt: row.due_at,
      progress: row.progress,
      plan: row.plan,
      auditRetentionDays: row.audit_retention_days,
    }
  );
}

/** finish_tenant_deletion: stores the signed certificate, CERTIFIED, and the tenant becomes DELETED. */
export async function finishDeletion(em: EntityManager, tenantId: string, file: CertificateFile): Promise<void> {
  await em.execute('select finish_tenant_deletion(?, ?::jsonb)', [tenantId, JSON.stringify(file)]);
}

const chainHeadRow = z.object({ seq: z.string(), hash: z.string() });

/** Appends a SYSTEM event of the erasure to the tenant's chain in this transaction and answers the new head. */
export async function appendErasureEvent(
  em: EntityManager,
  tenantId: string,
  action: string,
  detail: Record<string, unknown>,
): Promise<{ seq: string; hash: string }> {
  const row = await selectRow(
    em,
    chainHeadRow,
    `insert into audit_events (id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail)
     values (?, ?, 'SYSTEM', 'tenant-erasure', ?, 'Tenant', ?, 'SUCCESS', null, ?::jsonb)
     returning seq::text as seq, encode(hash, 'hex') as hash`,
    [newId(), tenantId, action, tenantId, JSON.stringify(detail)],
  );
  if (!row) throw new Error('audit event not written');
  return row;
}

const regionRow = z.object({ region: z.string().nullable() });

/** The region of the database the transaction runs in (database_region()). */
export async function regionOfDatabase(em: EntityManager): Promise<string | undefined> {
  return (await selectRow(em, regionRow, 'select database_region() as region'))?.region ?? undefined;
}
