import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startMetricsListener } from '../src/shared/metrics-listener.ts';
import { type Gateway, startGateway, startSecondReplica } from './support/gateway.ts';
import { AgentById, Agents } from './support/operations.ts';

/**
 * METRICS_TENANT_LABELS on the real metrics listener: without it no metric names a tenant; with it
 * the listed tenants' operations carry their id as the `tenant` label and everyone else's `other`.
 * Tenant ids are made by the server, so the allow-listed gateway is a second replica started on the
 * first one's database after its tenants exist (as an operator would list tenants that exist).
 */
describe('tenant labels in the metrics', () => {
  let gw: Gateway;
  let replica: Awaited<ReturnType<typeof startSecondReplica>>;
  const listeners: Awaited<ReturnType<typeof startMetricsListener>>[] = [];
  let acme: { id: string; token: string; agent: string };
  let globex: { id: string; token: string; agent: string };
  const silent = createLogger({ level: 'silent' });

  beforeAll(async () => {
    gw = await startGateway();
    const seeded = await Promise.all([gw.seed.tenant(), gw.seed.tenant()]);
    [acme, globex] = (await Promise.all(
      seeded.map(async (tenant) => ({ id: decodeGlobalId(tenant.id).id, token: tenant.ownerToken, agent: (await tenant.agent()).id })),
    )) as [typeof acme, typeof globex];
    replica = await startSecondReplica(gw, {
      log: silent,
      metricsTenantLabels: [acme.id.toUpperCase()], // ids compare case-insensitively, as UUIDs do
    });
  });
  afterAll(async () => {
    for (const listener of listeners) await listener.close();
    await replica?.close();
    await gw?.close();
  });

  const query = (
    yoga: { fetch: (url: string, init: RequestInit) => Response | Promise<Response> },
    document: Parameters<typeof print>[0],
    variables: object,
    token: string,
  ) =>
    yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
  /** Scrapes a registry through the listener main.ts starts (METRICS_PORT), as Prometheus would. */
  const scrape = async (registry: Parameters<typeof startMetricsListener>[0]['registry']) => {
    const listener = await startMetricsListener({ registry, host: '127.0.0.1', port: 0, log: silent });
    listeners.push(listener);
    const response = await fetch(`http://127.0.0.1:${listener.port}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };

  test('by default no series carries a tenant label or a tenant id', async () => {
    for (const tenant of [acme, globex]) await query(gw.yoga, Agents, { first: 5 }, tenant.token);
    await query(gw.yoga, AgentById, { id: globex.agent }, acme.token); // a cross-tenant lookup: NOT_FOUND
    const text = await scrape(gw.fleetgate.metrics.registry);
    expect(text).toMatch(/fleetgate_operations_total\{outcome="ok"\} \d+/);
    expect(text).toContain('fleetgate_cross_tenant_attempts_total{principal="user"} 1');
    expect(text).not.toContain('tenant=');
    for (const tenant of [acme, globex]) expect(text).not.toContain(tenant.id);
  });

  test('listed tenants get their id as the label, every other request `other`; unlisted ids never appear', async () => {
    for (const tenant of [acme, acme, globex]) expect((await query(replica.yoga, Agents, { first: 5 }, tenant.token)).status).toBe(200);
    await query(replica.yoga, AgentById, { id: globex.agent }, acme.token);
    await query(replica.yoga, AgentById, { id: acme.agent }, globex.token);
    const text = await scrape(replica.metrics.registry);
    expect(text).toContain(`fleetgate_operations_total{outcome="ok",tenant="${acme.id}"} 2`);
    expect(text).toContain('fleetgate_operations_total{outcome="ok",tenant="other"} 1');
    expect(text).toContain(`fleetgate_denials_total{code="NOT_FOUND",tenant="${acme.id}"} 1`);
    expect(text).toContain('fleetgate_denials_total{code="NOT_FOUND",tenant="other"} 1');
    expect(text).toContain(`fleetgate_cross_tenant_attempts_total{principal="user",tenant="${acme.id}"} 1`);
    expect(text).toMatch(
      new RegExp(
        `fleetgate_operation_duration_seconds_count\\{operation_type="query",operation_name="Agents",outcome="ok",tenant="${acme.id}"\\} 2`,
      ),
    );
    expect(text).not.toContain(globex.id);
    // Metrics that are not per operation stay without a tenant label.
    expect(text).toMatch(/fleetgate_http_request_duration_seconds_count\{endpoint="graphql",status="200"\} \d+/);
  });

  test('METRICS_ENABLED=false (metricsEnabled: false): requests are served and record no metric, nor process metrics', async () => {
    const off = await startSecondReplica(gw, { log: silent, metricsEnabled: false });
    try {
      expect((await query(off.yoga, Agents, { first: 5 }, acme.token)).status).toBe(200);
      const text = await scrape(off.metrics.registry);
      expect(text).toContain('# TYPE fleetgate_operations_total counter');
      expect(text).not.toMatch(/fleetgate_operations_total\{/);
      expect(text).not.toMatch(/fleetgate_http_request_duration_seconds_count\{/);
      expect(text).not.toContain('process_cpu_seconds_total');
    } finally {
      await off.close();
    }
  });

  test('METRICS_TENANT_LABELS: comma-separated UUIDs, trimmed, lower-cased and deduplicated; anything else stops the start', () => {
    const id = '01a24208-0b41-7489-abf1-dfbb21066220';
    expect(loadConfig({}).METRICS_TENANT_LABELS).toEqual([]);
    expect(loadConfig({ METRICS_TENANT_LABELS: ` ${id.toUpperCase()}, ${id},` }).METRICS_TENANT_LABELS).toEqual([id]);
    expect(() => loadConfig({ METRICS_TENANT_LABELS: `${id},acme` })).toThrow(
      'invalid configuration: METRICS_TENANT_LABELS (must be tenant ids (UUIDs), comma-separated)',
    );
  });
});
