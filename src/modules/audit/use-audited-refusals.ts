import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { type Principal, tenantOf } from '../../auth/principal.ts';
import { type AuthDeps, principalOf } from '../../request/authenticate.ts';
import { requestIdOf } from '../../request/request-id.ts';
import { isRefusedBeforeExecution } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { recordOutsideRequest } from './audit-trail.ts';

/**
 * Codes of the refusals made before any operation runs, so before any request transaction exists to
 * carry an audit event: the body (CSRF header missing, malformed or oversized body), the document
 * (unparsable, over the character, token, depth, alias or directive limits, invalid), and trusted
 * documents (unknown id, an API key sending a document of its own).
 */
const REFUSED_BEFORE_EXECUTION = new Set([
  'CSRF_HEADER_MISSING',
  'REQUEST_TOO_LARGE',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'PERSISTED_QUERY_ONLY',
]);

export interface AuditedRefusalsOptions {
  auth: AuthDeps;
  log: Logger;
  metrics: Metrics;
}

/**
 * Puts the refusals made in front of execution on the record, like the refusals of resolvers and
 * services: one DENIED `request.refused` event per distinct code in the tenant's audit log, for a
 * caller with a tenant (user, API key, support, agent). The event holds the code only: never the
 * document, the body, the variables or the persisted id the caller sent (the offending value is
 * omitted, so no probe can write its payload into the log). A caller without a tenant (anonymous, an
 * invalid credential, an operator) has no chain to write to: a warn log line with the principal kind
 * and the codes, and `fleetgate_refused_before_execution_total{audited="false"}`.
 *
 * Runs as the answer is processed, so it sees every refusal yoga turns into a response, whatever
 * plugin made it; refusals of executed operations (their `path` is set, or the request transaction
 * recorded them: input checks, scopes, services) are not recorded twice.
 */
export function useAuditedRefusals(options: AuditedRefusalsOptions): Plugin {
  const log = options.log.child({ component: 'audit' });
  return {
    async onResultProcess({ request, result }) {
      const codes = refusalCodesOf(result);
      if (codes.length === 0) return;
      const principal = await principalOf(request, options.auth).catch((): Principal | undefined => undefined);
      const region = principal && tenantOf(principal) ? await options.auth.regions.of(principal).catch(() => undefined) : undefined;
      const audited = principal !== undefined && region !== undefined;
      for (const code of codes) options.metrics.refusedBeforeExecution.inc({ code, audited: String(audited) });
      if (!audited) {
        log.warn(
          { principal: principal?.kind ?? 'invalid credential', refused: codes },
          'request refused before execution (no tenant to audit)',
        );
        return;
      }
      try {
        await recordOutsideRequest(
          { orm: region.orm, log },
          principal,
          requestIdOf(request),
          codes.map((code) => ({ action: 'request.refused', outcome: 'DENIED', detail: { code } })),
        );
      } catch (error) {
        // The refusal stands; a lost event is an error for the operators, never a different answer.
        log.error({ err: error, refused: codes }, 'could not record a refusal before execution in the audit log');
      }
    },
  };
}

/** The distinct codes of the result's refusals made before execution (every result of a batch). */
function refusalCodesOf(result: unknown): string[] {
  const codes = new Set<string>();
  for (const each of Array.isArray(result) ? result : [result]) {
    const errors = (each as { errors?: readonly GraphQLError[] } | null)?.errors;
    if (!Array.isArray(errors)) continue;
    for (const error of errors as readonly GraphQLError[]) {
      if (error.path !== undefined) continue;
      const code = String(error.extensions?.code ?? '');
      if (REFUSED_BEFORE_EXECUTION.has(code) || isRefusedBeforeExecution(error)) codes.add(code);
    }
  }
  return [...codes];
}
