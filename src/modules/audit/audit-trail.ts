import type { MikroORM } from '@mikro-orm/postgresql';
import { type ExecutionArgs, type GraphQLError, getOperationAST } from 'graphql';
import type { Principal } from '../../auth/principal.ts';
import { tenantOf } from '../../auth/principal.ts';
import { forkForPrincipal } from '../../db/request-scope.ts';
import type { Context } from '../../request/context.ts';
import { auditTargetOf, probeReasonOf } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { InputRefusal } from '../../shared/safe-text.ts';
import { type AuditRecord, recordAudit } from './audit.service.ts';

/**
 * Errors that mean "you may not": scope and service refusals, and NOT_FOUND, which for a well-formed
 * id may be a probe for another tenant's object (recorded with the id that was asked for).
 */
const DENIAL_CODES = new Set(['FORBIDDEN', 'UNAUTHENTICATED', 'NOT_FOUND']);

type Result = { errors?: readonly GraphQLError[] };

/** The operation's root type and its root fields by response key (aliases are the client's words, names are ours). */
function rootFieldsOf(args: ExecutionArgs): { root: string; byKey: Map<string, string> } {
  const operation = getOperationAST(args.document, args.operationName);
  const byKey = new Map<string, string>();
  if (!operation) return { root: 'Query', byKey };
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind === 'Field') byKey.set(selection.alias?.value ?? selection.name.value, selection.name.value);
  }
  const root = operation.operation === 'mutation' ? 'Mutation' : operation.operation === 'subscription' ? 'Subscription' : 'Query';
  return { root, byKey };
}

/**
 * The events a failed operation leaves: one DENIED event per distinct refusal (field, code,
 * target), one FAILED event per distinct failed mutation field, and, under a support grant, a
 * FAILED access event when nothing else was recorded: every request under a grant leaves a trace.
 */
export function failureRecords(principal: Principal, args: ExecutionArgs, result: Result): AuditRecord[] {
  const { root, byKey } = rootFieldsOf(args);
  const records = new Map<string, AuditRecord>();
  for (const error of result.errors ?? []) {
    const code = String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
    const key = error.path?.[0];
    const field = typeof key === 'string' ? (byKey.get(key) ?? null) : null;
    const action = field ? `${root}.${field}` : root;
    let record: AuditRecord | undefined;
    const probe = probeReasonOf(error);
    if (DENIAL_CODES.has(code) || probe) {
      const target = code === 'NOT_FOUND' ? auditTargetOf(error) : undefined;
      const detail = probe ? { code, reason: probe } : { code };
      record = { action, outcome: 'DENIED', ...(target ? { targetType: target.type, targetId: target.id } : {}), detail };
    } else if (root === 'Mutation') {
      record = { action, outcome: 'FAILED', detail: { code } };
    }
    if (record) records.set(JSON.stringify(record), record);
  }
  if (principal.kind === 'support' && records.size === 0) {
    records.set('support', {
      action: 'support.access',
      outcome: 'FAILED',
      detail: { operation: root, fields: [...new Set(byKey.values())] },
    });
  }
  return [...records.values()];
}

/**
 * Records events in their own short transaction, under the principal's tenant (RLS and the ORM
 * filter as for any request). For refusals and failures whose request was rolled back, and for the
 * rate limiter, which refuses before any transaction. A principal without a tenant (anonymous,
 * operator) has no chain to write to: the refusal is logged, no tenant is invented.
 */
export async function recordOutsideRequest(
  deps: { orm: MikroORM; log: Logger },
  principal: Principal,
  requestId: string,
  records: readonly AuditRecord[],
): Promise<void> {
  if (records.length === 0) return;
  if (!tenantOf(principal)) {
    const refused = records.filter((record) => record.outcome === 'DENIED').map((record) => `${record.action} ${record.detail?.code}`);
    if (refused.length > 0) deps.log.warn({ principal: principal.kind, refused }, 'access denied (no tenant to audit)');
    return;
  }
  const em = forkForPrincipal(deps.orm, principal);
  await em.transactional(async (tx) => {
    for (const record of records) recordAudit({ principal, em: tx, requestId, log: deps.log }, record);
    await tx.flush();
  });
}

/** For the rate limiter (and any other gate in front of execution): one DENIED event for this principal. */
export function recordDeniedAttempt(
  deps: { orm: MikroORM; log: Logger },
  principal: Principal,
  requestId: string,
  attempt: { action: string; detail?: Record<string, unknown> },
): Promise<void> {
  return recordOutsideRequest(deps, principal, requestId, [{ action: attempt.action, outcome: 'DENIED', detail: attempt.detail ?? {} }]);
}

/**
 * For the input check (useInputSanitising): one DENIED event per refused argument, naming its
 * path and what was wrong with it, never its value. A request carrying a NUL is a probe as often
 * as a mistake, and it leaves a trace like any other refusal.
 */
export function recordRefusedInput(ctx: Context, refusals: readonly InputRefusal[]): Promise<void> {
  return recordOutsideRequest(
    { orm: ctx.region.orm, log: ctx.log },
    ctx.principal,
    ctx.requestId,
    refusals.map(({ action, field, reason }) => ({ action, outcome: 'DENIED', detail: { code: 'BAD_USER_INPUT', field, reason } })),
  );
}

/**
 * Hooks for the request transaction (src/request/use-request-transaction.ts):
 * - before commit, under a support grant, the access event joins the request's transaction, so a
 *   read under a grant is not answered unless its event is written;
 * - after a rollback for errors, refusals and failed mutations are recorded in a transaction of their own.
 */
export const auditTrail = {
  async beforeCommit(ctx: Context, args: ExecutionArgs): Promise<void> {
    if (ctx.principal.kind !== 'support') return;
    const { root, byKey } = rootFieldsOf(args);
    recordAudit(ctx, { action: 'support.access', detail: { operation: root, fields: [...new Set(byKey.values())] } });
    await ctx.em.flush();
  },
  async afterRollback(ctx: Context, args: ExecutionArgs, result: Result): Promise<void> {
    try {
      await recordOutsideRequest(
        { orm: ctx.region.orm, log: ctx.log },
        ctx.principal,
        ctx.requestId,
        failureRecords(ctx.principal, args, result),
      );
    } catch (error) {
      ctx.log.error({ err: error }, 'could not record refused or failed request in the audit log');
      throw error;
    }
  },
};
