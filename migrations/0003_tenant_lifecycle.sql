-- Tenant lifecycle: freeze (operators), per-tenant rate limits, and the change feed that carries
-- both to every gateway replica within a second.

ALTER TABLE tenants
  ADD COLUMN frozen_reason text CHECK (length(frozen_reason) <= 500),
  ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0);

-- Who may update a tenant row, by role:
-- - the owner role, only through the counter trigger, only the current request's tenant;
-- - the app role, its own tenant, or any tenant in an operator transaction; and which columns a
--   tenant transaction may change is settled by the trigger below, not by the grant.
DROP POLICY tenants_update ON tenants;
CREATE POLICY tenants_update_counts ON tenants FOR UPDATE TO fleetgate_owner
  USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
CREATE POLICY tenants_update_app ON tenants FOR UPDATE TO fleetgate_app
  USING (id = app_current_tenant() OR app_is_operator()) WITH CHECK (id = app_current_tenant() OR app_is_operator());
GRANT UPDATE (status, frozen_reason, rate_limit_per_minute) ON tenants TO fleetgate_app;

-- A tenant may change its own settings (today: audit_retention_days) and nothing else: not its
-- status (it cannot unfreeze itself), not its limits or quotas. Everything else is operators'.
-- Written against the whole row, so a column added later is operator-only until listed here.
CREATE FUNCTION tenants_guard_columns() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NOT app_is_operator()
     AND (to_jsonb(NEW) - 'audit_retention_days') IS DISTINCT FROM (to_jsonb(OLD) - 'audit_retention_days') THEN
    RAISE EXCEPTION 'only operators change a tenant''s lifecycle, limits and quotas' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER tenants_guard_columns BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION tenants_guard_columns();

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
