import type { MikroORM } from '@mikro-orm/postgresql';
import type { Principal } from '../../auth/principal.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Metrics } from '../../shared/metrics.ts';
import type { AuditRecord } from '../audit/audit.service.ts';
import { recordOutsideRequest } from '../audit/audit-trail.ts';
import type { EgressEvent } from './egress-proxy.ts';

export interface EgressEventsOptions {
  orm: MikroORM;
  log: Logger;
  metrics: Metrics;
  /** Denials by one agent within `burstWindowMs` that raise the isolation alert (default 20 in 60 s). */
  burstThreshold?: number;
  burstWindowMs?: number;
  /** How long events wait to be written together, per tenant (default 500 ms). */
  flushMs?: number;
}

/**
 * Where the egress proxy's events go: metrics at once (bounded labels: kind, outcome, a fixed set
 * of reasons; never a host), the tenant's audit log in batches (`egress.connect` / `egress.http`,
 * ALLOWED or DENIED, with agent, host, port, bytes and reason, never a header or a value), and the
 * denial-burst alarm: an agent refused `burstThreshold` times within the window is probing or trying
 * to exfiltrate; it is counted in `fleetgate_egress_denial_bursts_total` (the FleetgateEgressDenialBurst
 * alert), logged and audited as `egress.denial_burst`, once per window.
 */
export class EgressEvents {
  readonly #options: EgressEventsOptions;
  readonly #log: Logger;
  readonly #pending = new Map<string, { agentId: string; records: AuditRecord[] }[]>();
  readonly #denials = new Map<string, number[]>();
  readonly #alarmed = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: EgressEventsOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'egress-events' });
  }

  readonly record = (event: EgressEvent): void => {
    const { metrics } = this.#options;
    metrics.egressConnections.inc({ kind: event.kind, outcome: event.outcome, reason: event.reason ?? 'none' });
    if (event.bytesOut) metrics.egressBytes.inc({ direction: 'out' }, event.bytesOut);
    if (event.bytesIn) metrics.egressBytes.inc({ direction: 'in' }, event.bytesIn);
    if (!event.tenantId || !event.agentId) {
      // No admitted agent at that address: nobody of any tenant to audit (a container this replica did not start).
      if (event.outcome === 'denied') this.#log.warn({ kind: event.kind, reason: event.reason }, 'egress refused to an unknown address');
      return;
    }
    const detail = {
      host: event.host,
      port: event.port,
      bytesOut: event.bytesOut,
      bytesIn: event.bytesIn,
      ...(event.reason ? { reason: event.reason } : {}),
      ...(event.swapped ? { swapped: event.swapped } : {}),
    };
    this.#queue(event.tenantId, event.agentId, {
      action: `egress.${event.kind}`,
      outcome: event.outcome === 'allowed' ? 'SUCCESS' : 'DENIED',
      targetType: 'Agent',
      targetId: event.agentId,
      detail,
    });
    if (event.outcome === 'denied') this.#countDenial(event);
  };

  /** Writes what is queued (tests, shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batches = [...this.#pending];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(async () => {
      for (const [tenantId, entries] of batches) {
        for (const { agentId, records } of entries) {
          // The agent is the actor: the proxy knew it by its address, so this is who acted.
          const principal: Principal = { kind: 'agent', tenantId, agentId, generation: 0 };
          try {
            await recordOutsideRequest({ orm: this.#options.orm, log: this.#log }, principal, 'egress', records);
          } catch (error) {
            this.#log.error({ err: error, tenantId, agentId, events: records.length }, 'egress events not written to the audit log');
          }
        }
      }
    });
    return this.#flushing;
  }

  #queue(tenantId: string, agentId: string, record: AuditRecord): void {
    const entries = this.#pending.get(tenantId) ?? [];
    let entry = entries.find((each) => each.agentId === agentId);
    if (!entry) {
      entry = { agentId, records: [] };
      entries.push(entry);
    }
    entry.records.push(record);
    this.#pending.set(tenantId, entries);
    this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs ?? 500);
  }

  #countDenial(event: EgressEvent): void {
    const key = `${event.tenantId}/${event.agentId ?? 'unknown'}`;
    const window = this.#options.burstWindowMs ?? 60_000;
    const threshold = this.#options.burstThreshold ?? 20;
    const now = Date.now();
    const recent = (this.#denials.get(key) ?? []).filter((at) => now - at < window);
    recent.push(now);
    this.#denials.set(key, recent);
    if (recent.length < threshold || now - (this.#alarmed.get(key) ?? 0) < window) return;
    this.#alarmed.set(key, now);
    this.#options.metrics.egressDenialBursts.inc();
    this.#log.warn({ tenantId: event.tenantId, agentId: event.agentId, denials: recent.length, windowMs: window }, 'egress denial burst');
    this.#queue(event.tenantId as string, event.agentId as string, {
      action: 'egress.denial_burst',
      outcome: 'DENIED',
      targetType: 'Agent',
      targetId: event.agentId as string,
      detail: { denials: recent.length, windowSeconds: Math.round(window / 1000) },
    });
  }
}
