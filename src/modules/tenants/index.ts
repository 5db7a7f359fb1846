/**
 * The tenants module's face: the tenant entity, sign-up and regions, lifecycle changes, the deletion
 * job and certificate, the tenant policy watcher and the deletion-grace plugin.
 * Its GraphQL types register from its *.schema.ts files, which src/schema.ts alone
 * imports: importing this face never loads the Pothos builder.
 */
export { verifyDeletionCertificate } from './deletion-certificate.ts';
export { Tenant } from './tenant.entity.ts';
export { databaseRegion, getOwnTenant, regionNamed, signUp } from './tenant.service.ts';
export { type ErasureDeps, tenantErasureJob } from './tenant-deletion.service.ts';
export { DEFAULT_TENANT_DELETION, type TenantDeletionSettings } from './tenant-deletion-settings.ts';
export { changeTenant } from './tenant-lifecycle.service.ts';
export {
  RegionalTenantPolicies,
  type TenantPolicies,
  type TenantPolicy,
  TenantPolicyWatcher,
  type TenantPolicyWatcherOptions,
  useCommittedTenantPolicies,
} from './tenant-policy-watcher.ts';
export { useDeletionGrace } from './use-deletion-grace.ts';
