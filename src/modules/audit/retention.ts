import { sign } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Keyring } from '../../auth/keyring.ts';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import { newId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { Tenant } from '../tenants/tenant.entity.ts';
import { dropThrough, insertCheckpoint, retentionCut, sqlOf, verifyTenantChain } from './audit.store.ts';
import { AuditEvent } from './audit-event.entity.ts';
import { checkpointMessage } from './chain.ts';

export interface RetentionDeps {
  orm: MikroORM;
  auditKey: Keyring['auditKey'];
  log: Logger;
}

export type RetentionOutcome =
  | { tenantId: string; status: 'nothing-to-drop' }
  | { tenantId: string; status: 'dropped'; throughSeq: string; dropped: number }
  | { tenantId: string; status: 'refused-broken-chain'; brokenAtSeq: string | null };

/**
 * Drops one tenant's events older than its retention, behind a signed checkpoint, in one
 * transaction: verify the chain up to the cut (a broken chain is never checkpointed, so tampering
 * cannot be laundered by retention), sign and store the checkpoint (seq, hash), record the
 * retention event, then let audit_drop_through() delete; it re-checks checkpoint and age itself.
 */
export async function applyAuditRetention(deps: RetentionDeps, tenantId: string): Promise<RetentionOutcome> {
  const log = deps.log.child({ component: 'audit-retention', tenantId });
  return forkForTenant(deps.orm, tenantId).transactional(async (em) => {
    const sql = sqlOf(em);
    const cut = await retentionCut(sql, tenantId);
    const throughSeq = cut?.seq;
    if (!throughSeq) return { tenantId, status: 'nothing-to-drop' } as const;
    const verification = await verifyTenantChain(sql, tenantId, deps.auditKey.publicKey, { toSeq: throughSeq });
    if (!verification.intact || verification.lastSeq !== throughSeq) {
      log.error({ brokenAt: verification.brokenAt }, 'audit chain broken: retention refused, nothing dropped');
      return { tenantId, status: 'refused-broken-chain', brokenAtSeq: verification.brokenAt?.seq ?? null } as const;
    }
    const checkpoint = { tenantId, seq: throughSeq, hash: verification.headHash };
    const signature = sign(null, checkpointMessage(checkpoint), deps.auditKey.privateKey);
    await insertCheckpoint(sql, { tenantId, seq: throughSeq, hash: checkpoint.hash, keyId: deps.auditKey.kid, signature });
    em.create(AuditEvent, {
      id: newId(),
      tenantId,
      actorType: 'SYSTEM',
      actorId: 'audit-retention',
      action: 'audit.retention',
      targetType: 'Tenant',
      targetId: tenantId,
      outcome: 'SUCCESS',
      requestId: null,
      detail: { throughSeq, checkpointHash: checkpoint.hash, retentionDays: cut?.days },
    });
    await em.flush();
    const dropped = await dropThrough(sql, tenantId, throughSeq);
    log.info({ throughSeq, dropped }, 'audit events dropped behind a signed checkpoint');
    return { tenantId, status: 'dropped', throughSeq, dropped } as const;
  });
}

/** The retention job: every tenant in turn; one tenant's failure is logged and does not stop the others. */
export async function runAuditRetention(deps: RetentionDeps): Promise<RetentionOutcome[]> {
  const tenants = await forkForOperator(deps.orm).transactional((em) =>
    em.find(Tenant, {}, { fields: ['id'], filters: { [TENANT_FILTER]: false } }),
  );
  const outcomes: RetentionOutcome[] = [];
  for (const tenant of tenants) {
    try {
      outcomes.push(await applyAuditRetention(deps, tenant.id));
    } catch (error) {
      deps.log.error({ err: error, tenantId: tenant.id }, 'audit retention failed');
    }
  }
  return outcomes;
}
