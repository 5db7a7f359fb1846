-- A per-tenant ceiling on workspace disk, beside agents, memory and CPU (0004): the sum of its agents'
-- workspace file systems (each made with the tenant's workspace_mb at the time, agents.workspace_mb).
-- Default: 200 agents of the default 1024 MB. Operator-only like every quota (tenants_guard_columns
-- admits only operator transactions to change anything but the tenant-settable columns).

ALTER TABLE tenants
  ADD COLUMN max_disk_mb integer NOT NULL DEFAULT 204800 CHECK (max_disk_mb >= 0);
GRANT UPDATE (max_disk_mb) ON tenants TO fleetgate_app;
