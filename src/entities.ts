/**
 * What the ORM maps, gathered from every module as src/schema.ts gathers their schema: the
 * entities, and the audit writer, which stages each request's audit events before its COMMIT. The
 * database floor (src/db/orm.ts) imports no module; whoever opens the ORM hands it this model.
 */
import type { OrmModel } from './db/orm.ts';
import { Agent } from './modules/agents/index.ts';
import { ApiKey } from './modules/api-keys/index.ts';
import { AuditEvent, auditWriter } from './modules/audit/index.ts';
import { AgentCredential } from './modules/credentials/index.ts';
import { memoryEntities } from './modules/memory/index.ts';
import { OidcConnection } from './modules/oidc/index.ts';
import { sessionEntities } from './modules/sessions/index.ts';
import { SupportGrant } from './modules/support/index.ts';
import { Task } from './modules/tasks/index.ts';
import { Tenant } from './modules/tenants/index.ts';
import { User } from './modules/users/index.ts';

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
