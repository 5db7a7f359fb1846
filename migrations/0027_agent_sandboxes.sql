-- Agent sandboxes: the isolation level an agent runs under and the size of its workspace.
--
-- Levels: 'RUNC' (a hardened container on the host kernel) and 'GVISOR' (the same container under
-- gVisor's user-space kernel, runsc). An agent's own `sandbox` (set by its tenant) wins over its
-- tenant's `sandbox` (set by operators, per plan); when both are NULL the provisioner picks GVISOR
-- wherever the engine offers it. A level that is asked for and missing on the engine is never
-- replaced by another: the agent is FAILED with the reason.
--
-- Tenant columns are operator-only like every quota (tenants_guard_columns admits only operator
-- transactions to change anything but the listed tenant-settable columns).

ALTER TABLE tenants
  ADD COLUMN sandbox text CHECK (sandbox IN ('RUNC', 'GVISOR')),
  -- Every agent's workspace is a file system of this size: writing past it fails with ENOSPC.
  ADD COLUMN workspace_mb integer NOT NULL DEFAULT 1024 CHECK (workspace_mb BETWEEN 16 AND 1048576);
GRANT UPDATE (sandbox, workspace_mb) ON tenants TO fleetgate_app;

ALTER TABLE agents
  -- What the tenant asked for; NULL: the tenant's level, else the engine's best.
  ADD COLUMN sandbox text CHECK (sandbox IN ('RUNC', 'GVISOR')),
  -- What the engine last ran the container under, and the size its workspace was made with.
  ADD COLUMN sandbox_runtime text CHECK (sandbox_runtime IN ('RUNC', 'GVISOR')),
  ADD COLUMN workspace_mb integer CHECK (workspace_mb > 0);
