import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/**
 * Prometheus's own listener: `GET /metrics` and nothing else, on a port of its own, bound to
 * loopback unless configured otherwise. It needs no token (a scraper holds no expiring operator
 * token), so it must not be reachable by tenants: keep it on loopback or a private network. The
 * metrics carry no tenant ids, names or anything a tenant typed.
 */
export async function startMetricsListener(options: { registry: Registry; host: string; port: number; log: Logger }) {
  const log = options.log.child({ component: 'metrics-listener' });
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info({ host: options.host, port }, 'metrics listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
