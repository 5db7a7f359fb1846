import type { Plugin } from 'graphql-yoga';
import { type AuthDeps, principalOf } from '../../request/authenticate.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { Readiness } from '../../shared/readiness.ts';
import type { AccessGate } from './access-gate.ts';

/**
 * `/readyz` (and its older name `/health`): 200 while tenant requests can be served, 503 while
 * shutting down, in lockdown, without a live freeze feed or without the database (a load balancer
 * then takes the replica out); the body names each check. Without a Readiness (tests building a
 * bare server), the access gate alone decides. `/metrics`: Prometheus text for an operator token;
 * scrapers use the metrics listener instead (src/shared/metrics-listener.ts), which needs none.
 * Liveness of the process itself is yoga's own `/livez`.
 */
export function useOperatorEndpoints(options: { gate: AccessGate; metrics: Metrics; auth: AuthDeps; readiness?: Readiness }): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname === '/readyz' || url.pathname === '/health') {
        const report = options.readiness
          ? await options.readiness.check()
          : {
              ready: options.gate.healthy(),
              status: options.gate.healthy() ? 'ok' : options.gate.lockedDown ? 'locked-down' : 'degraded',
            };
        endResponse(
          new fetchAPI.Response(JSON.stringify(report), {
            status: report.ready ? 200 : 503,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      } else if (url.pathname === '/metrics') {
        const principal = await principalOf(request, options.auth).catch(() => undefined);
        if (principal?.kind !== 'operator') {
          const anonymous = !principal || principal.kind === 'anonymous';
          endResponse(new fetchAPI.Response('operator token required\n', { status: anonymous ? 401 : 403 }));
          return;
        }
        endResponse(
          new fetchAPI.Response(await options.metrics.registry.metrics(), {
            headers: { 'content-type': options.metrics.registry.contentType },
          }),
        );
      }
    },
  };
}
