-- The shared tenants row: member and agent counters, the columns only operators change, and the
-- policy feed that carries a freeze or a rate limit to every replica.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- Member and agent counts for operators, who may read tenants but no row inside them.
-- SECURITY DEFINER so the app role needs no UPDATE on tenants; it still runs under FORCE RLS with
-- the caller's app.tenant_id, so it can only touch the caller's own tenant row.
CREATE OR REPLACE FUNCTION tenants_count_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  delta integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  row_tenant uuid := CASE TG_OP WHEN 'INSERT' THEN NEW.tenant_id ELSE OLD.tenant_id END;
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    UPDATE tenants SET user_count = user_count + delta WHERE id = row_tenant;
  ELSE
    UPDATE tenants SET agent_count = agent_count + delta WHERE id = row_tenant;
  END IF;
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION tenants_count_rows() FROM PUBLIC;

-- A tenant may change its own settings (audit, memory and task retention) and nothing else: not its
-- status (it cannot unfreeze itself), not its limits or quotas. Written against the whole row, so a
-- column added later is operator-only until listed here.
CREATE OR REPLACE FUNCTION tenants_guard_columns() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NOT app_is_operator()
     AND (to_jsonb(NEW) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days')
         IS DISTINCT FROM (to_jsonb(OLD) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days') THEN
    RAISE EXCEPTION 'only operators change a tenant''s lifecycle, limits and quotas' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;

-- Every replica LISTENs on this channel and applies the change at once (see tenant-status-watcher.ts).
-- NOTIFY is delivered at commit, so a rolled-back freeze is never announced.
CREATE OR REPLACE FUNCTION tenants_announce_policy() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tenant_policy', NEW.id::text);
  RETURN NULL;
END
$$;
