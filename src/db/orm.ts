import { MikroORM } from '@mikro-orm/postgresql';
import { Agent } from '../modules/agents/agent.entity.ts';
import { ApiKey } from '../modules/api-keys/api-key.entity.ts';
import { AuditEvent } from '../modules/audit/audit-event.entity.ts';
import { auditWriter } from '../modules/audit/audit-writer.ts';
import { AgentCredential } from '../modules/credentials/credential.entity.ts';
import { memoryEntities } from '../modules/memory/memory.entity.ts';
import { OidcConnection } from '../modules/oidc/oidc-connection.entity.ts';
import { sessionEntities } from '../modules/sessions/session.entity.ts';
import { SupportGrant } from '../modules/support/support-grant.entity.ts';
import { Task } from '../modules/tasks/task.entity.ts';
import { Tenant } from '../modules/tenants/tenant.entity.ts';
import { User } from '../modules/users/user.entity.ts';
import { FleetgateDriver } from './commit-prelude.ts';
import { type DatabaseTimeouts, poolOptionsFor } from './database-faults.ts';

export const entities = [
  Tenant,
  User,
  Agent,
  ApiKey,
  AuditEvent,
  SupportGrant,
  Task,
  AgentCredential,
  ...memoryEntities,
  ...sessionEntities,
  OidcConnection,
];

/**
 * The ORM, connected as the app role. Schema changes come only from SQL migrations (run as the
 * owner), never from the ORM. Session variables are applied per transaction (`set_config(..., true)`),
 * never per connection, so nothing survives into the next request on a pooled connection.
 */
export function openOrm(
  appUrl: string,
  options: { poolSize?: number; withoutAudit?: boolean; region?: string; timeouts?: DatabaseTimeouts } = {},
): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: appUrl,
    // PostgreSQL's driver, able to send the audit event with the COMMIT (src/db/commit-prelude.ts).
    driver: FleetgateDriver,
    // MikroORM finds the transaction in progress by this name (AsyncLocalStorage): one per region, or a
    // region's fork opened inside another region's request transaction would join that transaction.
    contextName: options.region ? `fleetgate-${options.region}` : 'default',
    entities,
    // Writes staged audit events before each COMMIT. Off only in bench/audit-bench.ts, to measure the audit's cost.
    subscribers: options.withoutAudit ? [] : [auditWriter],
    sessionContext: 'transaction',
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: options.poolSize ?? 10 },
    // Statement, lock and idle-in-transaction limits sent with each connection's startup; the pool's wait limit.
    driverOptions: poolOptionsFor(options.timeouts),
    debug: false,
  });
}
