import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestContext } from '../../request/context.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { trustedDocumentOf } from '../policy/index.ts';

const DENIALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'TENANT_FROZEN', 'PERSISTED_QUERY_ONLY', 'RATE_LIMITED']);

/**
 * Requests, outcomes and latency per published client app, version and operation, for every
 * operation run as a trusted document (arbitrary operations are in the general metrics only).
 * Label values come from the registry's answer (published names), bounded by Metrics.clientAppLabels.
 */
export function useClientAppMetrics(metrics: Metrics): Plugin<RequestContext> {
  type Labels = { app: string; version: string; operation_name: string };
  /** Worked out once per parsed document (yoga's parse cache hands the same object back), app, version and operation. */
  const known = new WeakMap<DocumentNode, Map<string, Labels>>();
  const labelsOf = (document: DocumentNode, operationName: string | null | undefined, app: string, version: string): Labels => {
    let byKey = known.get(document);
    if (!byKey) {
      byKey = new Map();
      known.set(document, byKey);
    }
    const key = `${app}\u0000${version}\u0000${operationName ?? ''}`;
    let labels = byKey.get(key);
    if (!labels) {
      const operation = getOperationAST(document, operationName);
      labels = { ...metrics.clientAppLabels(app, version), operation_name: metrics.operationLabel(operation?.name?.value) };
      byKey.set(key, labels);
    }
    return labels;
  };
  return {
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const found = request && trustedDocumentOf(request);
      if (!found) return;
      const since = performance.now();
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? (result.errors ?? []) : [];
          const codes = errors.map((error) => String(error.extensions?.code ?? 'INTERNAL'));
          const outcome = codes.length === 0 ? 'ok' : codes.every((code) => DENIALS.has(code)) ? 'denied' : 'error';
          const labels = labelsOf(args.document as DocumentNode, args.operationName, found.app, found.version);
          metrics.clientAppOperations.inc({ ...labels, outcome });
          metrics.clientAppDuration.observe(labels, (performance.now() - since) / 1000);
        },
      };
    },
  };
}
