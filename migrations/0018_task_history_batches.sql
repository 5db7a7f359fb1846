-- Task history retention in batches: purge_task_history() deletes at most p_limit of the tenant's
-- finished tasks per call, so a tenant with a long history is purged in short transactions (the job
-- calls it until a call deletes fewer than its limit, src/modules/retention/task-history.ts), never in
-- one transaction that holds its locks and WAL for millions of rows. Same rules as 0013 otherwise:
-- the current tenant only, its retention, finished tasks only, in the tier that holds them.
DROP FUNCTION purge_task_history(uuid);
CREATE FUNCTION purge_task_history(p_tenant uuid, p_limit integer) RETURNS bigint
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
