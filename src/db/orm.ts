import type { EntityClass, EventSubscriber } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { FleetgateDriver } from './commit-prelude.ts';
import { type DatabaseTimeouts, poolOptionsFor } from './database-faults.ts';

/** What the ORM maps: every module's entities, and the subscribers that act on each flush (src/entities.ts). */
export interface OrmModel {
  // biome-ignore lint/suspicious/noExplicitAny: entity classes of every shape.
  entities: EntityClass<any>[];
  subscribers: EventSubscriber[];
}

/**
 * The ORM, connected as the app role. Schema changes come only from SQL migrations (run as the
 * owner), never from the ORM. Session variables are applied per transaction (`set_config(..., true)`),
 * never per connection, so nothing survives into the next request on a pooled connection.
 */
export function openOrm(
  appUrl: string,
  model: OrmModel,
  options: { poolSize?: number; withoutAudit?: boolean; region?: string; timeouts?: DatabaseTimeouts } = {},
): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: appUrl,
    // PostgreSQL's driver, able to send the audit event with the COMMIT (src/db/commit-prelude.ts).
    driver: FleetgateDriver,
    // MikroORM finds the transaction in progress by this name (AsyncLocalStorage): one per region, or a
    // region's fork opened inside another region's request transaction would join that transaction.
    contextName: options.region ? `fleetgate-${options.region}` : 'default',
    entities: model.entities,
    // The audit writer stages events before each COMMIT. Off only in bench/audit-bench.ts, to measure the audit's cost.
    subscribers: options.withoutAudit ? [] : model.subscribers,
    sessionContext: 'transaction',
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: options.poolSize ?? 10 },
    // Statement, lock and idle-in-transaction limits sent with each connection's startup; the pool's wait limit.
    driverOptions: poolOptionsFor(options.timeouts),
    debug: false,
  });
}
