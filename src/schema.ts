import { builder } from './builder.ts';
import './modules/common/scalars.schema.ts';
import './modules/tenants/tenant.schema.ts';
import './modules/users/user.schema.ts';
import './modules/sessions/session.schema.ts';
import './modules/oidc/oidc.schema.ts';
import './modules/agents/agent.schema.ts';
import './modules/tasks/task.schema.ts';
import './modules/provisioning/quota.schema.ts';
import './modules/api-keys/api-key.schema.ts';
import './modules/audit/audit.schema.ts';
import './modules/support/support.schema.ts';
import './modules/credentials/credential.schema.ts';
import './modules/memory/memory.schema.ts';
import './modules/enterprise/enterprise.schema.ts';
import './modules/retention/retention.schema.ts';
import './modules/tenants/tenant-deletion.schema.ts';
import './modules/documents/client-app.schema.ts';
import './modules/policy/isolation-canary.schema.ts';
import './modules/live/live.schema.ts';

/** The whole schema. `disableScopeAuth` exists for the wall-removal tests only. */
export function buildSchema(options: { disableScopeAuth?: boolean } = {}) {
  return builder.toSchema({ disableScopeAuth: options.disableScopeAuth ?? false, sortSchema: true });
}
