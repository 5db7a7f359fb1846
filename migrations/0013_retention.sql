-- Retention policies per tenant, on both tiers (issue 8): audit events, the memory purge window
-- (0007, already tier-aware since 0011) and task history. Every deletion runs under the tenant's own
-- setting and in the tier that holds its rows: the shared tables for a STANDARD tenant, its own
-- schema (tenant_<id>) for an ENTERPRISE tenant. Which one is read from tenants.plan, never from the
-- caller's search_path, so a transaction cannot point a deletion at another table.

-- Where a tenant's rows live.
CREATE FUNCTION tenant_data_schema(p_tenant uuid) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN plan = 'ENTERPRISE' THEN public.tenant_schema_name(id) ELSE 'public' END FROM public.tenants WHERE id = p_tenant $$;
REVOKE EXECUTE ON FUNCTION tenant_data_schema(uuid) FROM PUBLIC;

-- Audit retention on both tiers. Same rules as 0002 (the transaction's own tenant, a checkpoint at
-- exactly p_seq holding that event's hash, every dropped event older than the tenant's retention),
-- now in the schema that holds the tenant's chain: before, an enterprise tenant's checkpoint (written
-- into its schema) was looked for in public.audit_checkpoints and retention always refused.
CREATE OR REPLACE FUNCTION audit_drop_through(p_tenant uuid, p_seq bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  s text;
  checkpoint_hash bytea;
  event_hash bytea;
  retention integer;
  too_young boolean;
  dropped bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'audit_drop_through: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'audit_drop_through: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE format('SELECT hash FROM %I.audit_checkpoints WHERE tenant_id = $1 AND seq = $2', s) INTO checkpoint_hash USING p_tenant, p_seq;
  EXECUTE format('SELECT hash FROM %I.audit_events WHERE tenant_id = $1 AND seq = $2', s) INTO event_hash USING p_tenant, p_seq;
  IF checkpoint_hash IS NULL OR event_hash IS DISTINCT FROM checkpoint_hash THEN
    RAISE EXCEPTION 'audit_drop_through: no checkpoint at seq % matching the chain', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT audit_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('SELECT EXISTS (SELECT FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2
                  AND created_at >= now() - make_interval(days => $3))', s) INTO too_young USING p_tenant, p_seq, retention;
  IF too_young THEN
    RAISE EXCEPTION 'audit_drop_through: events up to seq % are within retention', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('fleetgate.audit_drop', p_tenant::text || ':' || p_seq::text, true);
  EXECUTE format('DELETE FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2', s) USING p_tenant, p_seq;
  GET DIAGNOSTICS dropped = ROW_COUNT;
  PERFORM set_config('fleetgate.audit_drop', '', true);
  RETURN dropped;
END
$$;

-- Task history: finished tasks (SUCCEEDED, FAILED, TIMED_OUT) and their results are deleted once
-- they are older than the tenant's task_retention_days. Owners set it, like the other two.
ALTER TABLE tenants ADD COLUMN task_retention_days integer NOT NULL DEFAULT 90
  CHECK (task_retention_days BETWEEN 1 AND 3650);
GRANT UPDATE (task_retention_days) ON tenants TO fleetgate_app;

-- A tenant may change its own settings (audit, memory and task retention) and nothing else.
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

-- The purge's scan, per tier (sync_tenant_schema copies it into tenant schemas).
CREATE INDEX tasks_finished ON tasks (tenant_id, finished_at) WHERE status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT');

-- Owner-only (a NOLOGIN role), for task_history_tenants() below: finished tasks only, so not even
-- that function can see a queued or running task of any tenant.
CREATE POLICY tasks_history_select ON tasks FOR SELECT TO fleetgate_owner USING (status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT'));

-- The tenants with finished tasks past their retention, across the shared table and every tenant
-- schema: tenant ids only. Called in an operator transaction (tenants' settings are visible to it).
CREATE FUNCTION task_history_tenants()
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

-- The only way tasks leave: deletes the current tenant's finished tasks older than its retention, in
-- the tier that holds them, and returns how many. The app role has no DELETE on tasks, and nothing
-- the caller passes widens what is deleted (no clock, no status, no schema): a queued or running
-- task is never deleted, whatever its age.
CREATE FUNCTION purge_task_history(p_tenant uuid) RETURNS bigint
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
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'purge_task_history: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT task_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('DELETE FROM %I.tasks WHERE tenant_id = $1 AND status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
                  AND coalesce(finished_at, created_at) < now() - make_interval(days => $2)', s) USING p_tenant, retention;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$$;
REVOKE EXECUTE ON FUNCTION purge_task_history(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_task_history(uuid) TO fleetgate_app;
