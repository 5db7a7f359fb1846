/**
 * How many days an owner may keep each kind of data: the bounds the gateway enforces (setAuditRetention,
 * setMemoryRetention, setTaskRetention) and the console's retention form offers. Imports nothing, so
 * the console bundles it without pulling in the server.
 */
export const RETENTION_DAYS = {
  /** At least a month: an audit log shorter than that cannot answer a monthly review. */
  audit: { min: 30, max: 3650 },
  memory: { min: 1, max: 3650 },
  task: { min: 1, max: 3650 },
} as const;
