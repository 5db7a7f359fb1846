import { assertCan } from '../../auth/actions.ts';
import { actorOf, tenantOf } from '../../auth/principal.ts';
import type { RequestScope } from '../../context.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import { newId } from '../../shared/ids.ts';
import { AuditEvent } from './audit-event.entity.ts';

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

/**
 * Stages an audit event in the caller's unit of work, so it commits or rolls back with the change
 * it records: no committed change without its event.
 */
export function recordAudit(scope: RequestScope, record: AuditRecord): void {
  const tenantId = tenantOf(scope.principal) ?? record.tenantId;
  if (!tenantId) throw new Error(`audit event ${record.action} has no tenant`);
  scope.em.create(AuditEvent, {
    id: newId(),
    tenantId,
    ...actorOf(scope.principal),
    action: record.action,
    targetType: record.targetType ?? null,
    targetId: record.targetId ?? null,
    outcome: record.outcome ?? 'SUCCESS',
    requestId: scope.requestId,
    detail: record.detail ?? {},
  });
}

export function listAuditEvents(scope: RequestScope, page: PageArgs): Promise<AuditEvent[]> {
  assertCan(scope.principal, 'audit.read');
  return findPage(scope.em, AuditEvent, {}, page);
}
