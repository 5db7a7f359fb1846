/**
 * What the ORM maps, gathered from every module as src/schema.ts gathers their schema: the
 * entities, and the audit writer, which stages each request's audit events before its COMMIT. The
 * database floor (src/db/orm.ts) imports no module; whoever opens the ORM hands it this model.
 */
import type { OrmModel } from './db/orm.ts';
import { Agent } from './modules/agents/agent.entity.ts';
import { ApiKey } from './modules/api-keys/api-key.entity.ts';
import { AuditEvent } from './modules/audit/audit-event.entity.ts';
import { auditWriter } from './modules/audit/audit-writer.ts';
import { AgentCredential } from './modules/credentials/credential.entity.ts';
import { memoryEntities } from './modules/memory/memory.entity.ts';
import { OidcConnection } from './modules/oidc/oidc-connection.entity.ts';
import { sessionEntities } from './modules/sessions/session.entity.ts';
import { SupportGrant } from './modules/support/support-grant.entity.ts';
import { Task } from './modules/tasks/task.entity.ts';
import { Tenant } from './modules/tenants/tenant.entity.ts';
import { User } from './modules/users/user.entity.ts';

export const ormModel: OrmModel = {
  entities: [
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
  ],
  subscribers: [auditWriter],
};
