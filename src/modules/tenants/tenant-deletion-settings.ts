/** How a tenant deletion is paced (gateway option `tenantDeletion`, env TENANT_DELETION_GRACE_SECONDS). */
export interface TenantDeletionSettings {
  /** Seconds between the owner's request and the erasure; the owner can cancel until the erasure begins. */
  graceSeconds: number;
}

/** Seven days: long enough for an owner to notice a request they did not make, and to download the final audit report. */
export const DEFAULT_TENANT_DELETION: TenantDeletionSettings = { graceSeconds: 7 * 24 * 60 * 60 };
