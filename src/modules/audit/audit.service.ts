import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Keyring } from '../../auth/keyring.ts';
import { actorOf, tenantOf } from '../../auth/principal.ts';
import type { LeanTransaction } from '../../db/lean-transaction.ts';
import type { PageArgs } from '../../db/pagination.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { RETENTION_DAYS } from '../../shared/retention-days.ts';
import { escapeUnsafe, escapeUnsafeDeep } from '../../shared/safe-text.ts';
import { parseInput } from '../../shared/validation.ts';
import { Tenant } from '../tenants/tenant.entity.ts';
import { type AuditRow, auditInsertStatement, eventRange, sqlOf, verifyTenantChain } from './audit.store.ts';
import { AUDIT_OUTCOMES, AuditEvent } from './audit-event.entity.ts';
import { stageAuditEvent } from './audit-writer.ts';
import type { ChainEvent, ChainVerification } from './chain.ts';
import { buildReport, type ReportDigest, type ReportSignatureFile } from './report.ts';

export interface AuditRecord {
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: 'SUCCESS' | 'DENIED' | 'FAILED';
  /** The minimum detail needed to understand the event. Never a secret. */
  detail?: Record<string, unknown>;
  /** Only for principals without a tenant (operators) acting on one; after `enterTenant`. */
  tenantId?: string;
}

/** What the audit services need beyond a request scope: the key that signs reports. */
export type AuditScope = RequestScope & { auditKey: Keyring['auditKey'] };

/** Most events one export holds; a longer range is refused with a request to narrow it. */
export const MAX_REPORT_EVENTS = 100_000;

/**
 * Stages an audit event in the caller's transaction (see audit-writer.ts), written as its last
 * statement, in the same message as its COMMIT: it commits or rolls back with the change it
 * records, so there is no committed change without its event, and a failed audit write fails the change. The database
 * appends it to the tenant's hash chain (seq, prev_hash, hash, created_at) on insert. An event
 * under a support grant carries the grant's id.
 */
export function recordAudit(scope: RequestScope, record: AuditRecord): void {
  stageAuditEvent(scope.em, auditRowOf(scope, record));
}

/**
 * The same event in a lean write's transaction (src/db/lean-transaction.ts): its INSERT goes out with
 * the COMMIT, in the same message, so it commits or rolls back with the change, and the tenant's
 * chain lock is held for that message only (as audit-writer.ts does on the ORM path).
 */
export function recordAuditWithCommit(scope: RequestScope, lean: LeanTransaction, record: AuditRecord): void {
  const { sql, params } = auditInsertStatement(auditRowOf(scope, record));
  lean.withCommit(sql, params);
}

function auditRowOf(scope: RequestScope, record: AuditRecord): AuditRow {
  const tenantId = tenantOf(scope.principal) ?? record.tenantId;
  if (!tenantId) throw new Error(`audit event ${record.action} has no tenant`);
  const grant = scope.principal.kind === 'support' ? { supportGrantId: scope.principal.grantId } : {};
  return {
    id: newId(),
    tenantId,
    ...actorOf(scope.principal),
    action: record.action,
    targetType: record.targetType ?? null,
    // A refused probe may carry what Postgres cannot store (NUL, an unpaired surrogate): escaped, so its event is still written.
    targetId: record.targetId == null ? null : escapeUnsafe(record.targetId),
    outcome: record.outcome ?? 'SUCCESS',
    requestId: scope.requestId,
    detail: escapeUnsafeDeep({ ...record.detail, ...grant }) as Record<string, unknown>,
  };
}

const auditFilter = z
  .object({
    action: z.string().max(200),
    actorType: z.string().max(50),
    actorId: z.string().max(200),
    targetId: z.string().max(200),
    outcome: z.enum(AUDIT_OUTCOMES),
    from: z.date(),
    to: z.date(),
  })
  .partial()
  // An empty period is a mistake worth saying (the console shows it in words), not "no events".
  .refine((range) => !range.from || !range.to || range.from < range.to, { message: 'must be after from', path: ['to'] });
export type AuditFilter = z.infer<typeof auditFilter>;

/** Keyset pagination over the chain's order (seq); the cursor is the seq. */
export async function listAuditLog(
  scope: RequestScope,
  filter: unknown,
  { before, after, limit, inverted }: PageArgs,
): Promise<AuditEvent[]> {
  assertCan(scope.principal, 'audit.read');
  const { from, to, ...fields } = parseInput(auditFilter, filter ?? {});
  const where: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) where[key] = value;
  const createdAt: Record<string, Date> = {};
  if (from) createdAt.$gte = from;
  if (to) createdAt.$lt = to;
  if (from || to) where.createdAt = createdAt;
  const seq: Record<string, string> = {};
  for (const [cursor, op] of [
    [after, '$gt'],
    [before, '$lt'],
  ] as const) {
    if (cursor === undefined) continue;
    if (!/^\d{1,19}$/.test(cursor)) throw badInput('Invalid cursor');
    seq[op] = cursor;
  }
  if (Object.keys(seq).length > 0) where.seq = seq;
  return scope.em.find(AuditEvent, where, { orderBy: { seq: inverted ? 'desc' : 'asc' }, limit });
}

/** Recomputes the caller's tenant's whole chain: intact, or the first broken link. */
export async function verifyAuditLog(scope: AuditScope): Promise<ChainVerification> {
  assertCan(scope.principal, 'audit.read');
  const tenantId = tenantOf(scope.principal) ?? '';
  return verifyTenantChain(sqlOf(scope.em), tenantId, scope.auditKey.publicKey);
}

const reportRange = z
  .object({ from: z.date(), to: z.date() })
  .refine((range) => range.from < range.to, { message: 'must be after from', path: ['to'] });

export interface AuditReport {
  ndjson: string;
  csv: string;
  digest: ReportDigest;
  signatureFile: ReportSignatureFile;
}

/**
 * The one-click audit report for [from, to): verifies the tenant's chain up to the range's end in
 * one streaming pass, collecting the range's events, then signs the digest. A broken chain is not
 * hidden: the signed digest says so and the offline verifier fails on it. The export is itself audited.
 */
export async function exportAuditReport(scope: AuditScope, input: unknown): Promise<AuditReport> {
  assertCan(scope.principal, 'audit.read');
  const { from, to } = parseInput(reportRange, input);
  const tenantId = tenantOf(scope.principal) ?? '';
  const sql = sqlOf(scope.em);
  const { firstSeq, lastSeq, count } = await eventRange(sql, tenantId, from, to);
  if (count > MAX_REPORT_EVENTS) throw badInput(`The range holds more than ${MAX_REPORT_EVENTS} events; narrow it`, 'to');
  const events: ChainEvent[] = [];
  const verification =
    lastSeq && firstSeq
      ? await verifyTenantChain(sql, tenantId, scope.auditKey.publicKey, {
          toSeq: lastSeq,
          collectFrom: firstSeq,
          onEvent: (event) => events.push(event),
        })
      : await verifyTenantChain(sql, tenantId, scope.auditKey.publicKey);
  const report = buildReport({ tenantId, from, to, events, verification, key: scope.auditKey });
  recordAudit(scope, {
    action: 'audit.export',
    targetType: 'Tenant',
    targetId: tenantId,
    detail: { from: report.digest.from, to: report.digest.to, events: events.length, chainIntact: verification.intact },
  });
  await scope.em.flush();
  return report;
}

const retentionInput = z.object({ days: z.number().int().min(RETENTION_DAYS.audit.min).max(RETENTION_DAYS.audit.max) });

/** Owners choose how long their audit events are kept (30–3650 days; 365 by default). */
export async function setAuditRetention(scope: RequestScope, input: unknown): Promise<Tenant> {
  assertCan(scope.principal, 'audit.manage');
  const { days } = parseInput(retentionInput, input);
  const tenant = await scope.em.findOne(Tenant, {});
  if (!tenant) throw notFound('Tenant');
  const previous = tenant.auditRetentionDays;
  tenant.auditRetentionDays = days;
  recordAudit(scope, { action: 'audit.retention.set', targetType: 'Tenant', targetId: tenant.id, detail: { days, previous } });
  await scope.em.flush();
  return tenant;
}
