import type { Plugin } from 'graphql-yoga';
import { type AuthDeps, principalOf } from '../../auth/authenticate.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { AccessGate } from './access-gate.ts';

/**
 * `/health`: 200 while tenant requests can be served, 503 in lockdown or without a live freeze
 * feed (a load balancer then takes the replica out). `/metrics`: Prometheus text, operators only.
 * Liveness of the process itself is yoga's own `/livez`.
 */
export function useOperatorEndpoints(options: { gate: AccessGate; metrics: Metrics; auth: AuthDeps }): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname === '/health') {
        const healthy = options.gate.healthy();
        endResponse(
          new fetchAPI.Response(JSON.stringify({ status: healthy ? 'ok' : options.gate.lockedDown ? 'locked-down' : 'degraded' }), {
            status: healthy ? 200 : 503,
            headers: { 'content-type': 'application/json' },
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
