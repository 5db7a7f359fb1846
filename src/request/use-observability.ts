import { getOperationAST, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { tenantOf } from '../auth/principal.ts';
import { busyLimitOf } from '../db/database-faults.ts';
import { trustedDocumentOf } from '../modules/policy/index.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Context, RequestContext } from './context.ts';

const DENIALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'TENANT_FROZEN', 'PERSISTED_QUERY_ONLY', 'RATE_LIMITED']);
const ENDPOINTS: Record<string, string> = { '/graphql': 'graphql', '/readyz': 'readyz', '/health': 'readyz', '/livez': 'livez' };

/**
 * One log line (`debug` for a successful query, `info` otherwise) and the metrics per executed operation: name, principal kind, tenant (in the log;
 * a metric label only for the operator's allow-listed tenants, see MetricsOptions.tenantLabels), error codes and duration, with the request id from the context's
 * logger; and the latency of every HTTP request by endpoint and status. Never variables or
 * headers: they may hold secrets.
 */
export function useObservability(
  metrics: Metrics,
  options: {
    /** `false`: the log line only, no metric observed (METRICS_ENABLED=false, and the metrics bench's "off" side). */
    recordMetrics?: boolean;
  } = {},
): Plugin<RequestContext> {
  const started = new WeakMap<Request, number>();
  const record = options.recordMetrics ?? true;
  return {
    onRequest({ request }) {
      if (record) started.set(request, performance.now());
    },
    onResponse({ request, response }) {
      const since = started.get(request);
      if (since === undefined) return;
      const endpoint = ENDPOINTS[new URL(request.url).pathname] ?? 'other';
      metrics.httpDuration.observe({ endpoint, status: String(response.status) }, (performance.now() - since) / 1000);
    },
    onExecute({ args }) {
      const since = performance.now();
      const ctx = args.contextValue as Context;
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? (result.errors ?? []) : [];
          // A database limit's error is not masked yet here: counted as what the client gets (see databaseBusyError).
          const codes = errors.map((error) => (busyLimitOf(error) ? 'SERVICE_UNAVAILABLE' : String(error.extensions?.code ?? 'INTERNAL')));
          const outcome = codes.length === 0 ? 'ok' : codes.every((code) => DENIALS.has(code)) ? 'denied' : 'error';
          const seconds = (performance.now() - since) / 1000;
          const operation = getOperationAST(args.document, args.operationName);
          // A trusted document sent by its id alone carries its name in the document, not in the request.
          const name = operation?.name?.value ?? args.operationName ?? undefined;
          if (record) observeOperation(metrics, ctx, operation, name, codes, outcome, seconds);
          // A successful read is the one line nobody needs at `info`: the metrics count it. Every
          // mutation and every refusal or error stays at `info`.
          const level = outcome === 'ok' && operation?.operation === 'query' ? 'debug' : 'info';
          ctx.log[level]({ operation: name ?? 'anonymous', errors: codes, ms: Math.round(seconds * 10_000) / 10 }, 'operation executed');
        },
      };
    },
  };
}

/**
 * The operation's metrics: latency by type, name and outcome (and, for a trusted document, the
 * published app and version that ran it: "who still runs version 1.2?"), the outcome counter, denials
 * and cross-tenant lookups. One histogram for both kinds of operation: a trusted document costs no
 * metric call more than a raw query.
 */
function observeOperation(
  metrics: Metrics,
  ctx: Context,
  operation: OperationDefinitionNode | null | undefined,
  operationName: string | undefined,
  codes: string[],
  outcome: string,
  seconds: number,
): void {
  const tenant = metrics.tenantLabel(tenantOf(ctx.principal));
  const found = trustedDocumentOf(ctx);
  metrics.operationDuration.observe(
    {
      operation_type: operation?.operation ?? 'unknown',
      operation_name: metrics.operationLabel(operationName),
      outcome,
      ...(found ? metrics.clientAppLabels(found.app, found.version) : {}),
      ...tenant,
    },
    seconds,
  );
  metrics.operations.inc({ outcome, ...tenant });
  for (const code of codes) {
    if (DENIALS.has(code)) metrics.denials.inc({ code, ...tenant });
    if (code === 'NOT_FOUND') metrics.crossTenantAttempts.inc({ principal: ctx.principal.kind, ...tenant });
  }
}
