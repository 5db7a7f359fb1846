import { type DocumentNode, getOperationAST, Kind, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../../request/context.ts';
import { clientError } from '../../shared/errors.ts';

/**
 * What the owner of a tenant awaiting deletion may still do (AccessGate.check answered
 * 'deletion-grace'): cancel the deletion, download the final signed audit report with the key
 * that verifies it, and read the tenant's own metadata (its status and when the grace ends).
 * Nothing else: no agent, member, key, credential or memory operation, no audit retention change.
 */
export const DELETION_GRACE_FIELDS: ReadonlySet<string> = new Set([
  'cancelTenantDeletion',
  'exportAuditReport',
  'auditSigningKey',
  'tenant',
  '__typename',
]);

/**
 * Narrows a 'deletion-grace' request to DELETION_GRACE_FIELDS before anything runs: an operation
 * with any other root field (fragments on the root type included) is refused as a whole with
 * TENANT_DELETION_PENDING (HTTP 403), the code every other principal of the tenant gets at the gate.
 * Requests with 'full' access pass untouched.
 */
export function useDeletionGrace(): Plugin<RequestContext> {
  const refusal = () =>
    clientError('TENANT_DELETION_PENDING', 'This tenant is awaiting deletion: only cancelling it and the audit report remain', {
      http: { status: 403 },
    });
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      if (ctx.access === 'full') return;
      if (!onlyGraceFields(args.document, args.operationName ?? undefined)) setResultAndStopExecution({ errors: [refusal()] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      if (ctx.access === 'full') return;
      setResultAndStopExecution({ errors: [refusal()] });
    },
  };
}

function onlyGraceFields(document: DocumentNode, operationName: string | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  if (!operation) return false;
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition]] : [],
    ),
  );
  const seen = new Set<string>();
  const allowed = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.every((selection) => {
      if (selection.kind === Kind.FIELD) return DELETION_GRACE_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return allowed(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return true;
      seen.add(name);
      const fragment = fragments.get(name);
      return fragment !== undefined && allowed(fragment.selectionSet);
    });
  return allowed(operation.selectionSet);
}
