-- Task history retention, on both tiers: the tenant's own setting (task_retention_days), applied in
-- the tier that holds its rows (tenant_data_schema). Audit retention is audit_drop_through (audit.sql);
-- the memory purge window is memory_maintenance_tenants (memory.sql).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The tenants with finished tasks past their retention, across the shared table and every tenant
-- schema: tenant ids only. Called in an operator transaction (tenants' settings are visible to it).
-- The owner-only policy tasks_history_select shows it finished tasks only.
CREATE OR REPLACE FUNCTION task_history_tenants()
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'task_history_tenants: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY SELECT DISTINCT t.tenant_id FROM public.tasks t JOIN public.tenants n ON n.id = t.tenant_id
    WHERE t.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
      AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days);
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT DISTINCT t.tenant_id FROM %I.tasks t JOIN public.tenants n ON n.id = t.tenant_id
      WHERE t.status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
        AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days)', s);
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION task_history_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION task_history_tenants() TO fleetgate_app;

-- The only way tasks leave: deletes at most p_limit of the current tenant's finished tasks older than
-- its retention, in the tier that holds them, and returns how many; the job calls it until a call
-- deletes fewer than its limit (src/modules/retention/task-history.ts), so a long history is purged in
-- short transactions. The app role has no DELETE on tasks, and nothing the caller passes widens what
-- is deleted: a queued or running task is never deleted, whatever its age.
CREATE OR REPLACE FUNCTION purge_task_history(p_tenant uuid, p_limit integer) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  s text;
  retention integer;
  deleted bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'purge_task_history: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION 'purge_task_history: the limit must be positive' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'purge_task_history: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT task_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('DELETE FROM %I.tasks WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM %I.tasks WHERE tenant_id = $1 AND status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
                       AND coalesce(finished_at, created_at) < now() - make_interval(days => $2) LIMIT $3))', s, s)
    USING p_tenant, retention, p_limit;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$$;
REVOKE EXECUTE ON FUNCTION purge_task_history(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_task_history(uuid, integer) TO fleetgate_app;
