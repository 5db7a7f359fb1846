-- Tenant lifecycle: freeze (operators), per-tenant rate limits, and the change feed that carries
-- both to every gateway replica within a second.

ALTER TABLE tenants
  ADD COLUMN frozen_reason text CHECK (length(frozen_reason) <= 500),
  ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0);

-- Who may update a tenant row, by role:
-- - the owner role, only through the counter trigger, only the current request's tenant;
-- - the app role, only in an operator transaction, and only the lifecycle columns granted below.
-- A tenant principal can therefore neither unfreeze itself nor raise its own rate limit.
DROP POLICY tenants_update ON tenants;
CREATE POLICY tenants_update_counts ON tenants FOR UPDATE TO fleetgate_owner
  USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
CREATE POLICY tenants_update_lifecycle ON tenants FOR UPDATE TO fleetgate_app
  USING (app_is_operator()) WITH CHECK (app_is_operator());
GRANT UPDATE (status, frozen_reason, rate_limit_per_minute) ON tenants TO fleetgate_app;

-- Every replica LISTENs on this channel and applies the change at once (see tenant-status-watcher.ts).
-- NOTIFY is delivered at commit, so a rolled-back freeze is never announced.
CREATE FUNCTION tenants_announce_policy() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tenant_policy', NEW.id::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER tenants_announce_policy
  AFTER UPDATE OF status, rate_limit_per_minute ON tenants
  FOR EACH ROW EXECUTE FUNCTION tenants_announce_policy();
