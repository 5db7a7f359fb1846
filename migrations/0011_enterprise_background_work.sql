-- Background work that finds its rows across tenants (KEK rewrap of credential and memory data
-- keys, task deadlines, memory expiry and purges) must also look inside every enterprise tenant's
-- schema: otherwise a KEK version would be retired while an enterprise tenant's data keys still
-- need it. Same shape as runtime_agents() in 0008: owner-only SECURITY DEFINER functions that
-- return ids only; the work itself then runs under the row's own tenant (RLS and search_path).

CREATE FUNCTION tenant_schemas() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT nspname FROM pg_namespace WHERE nspname ~ '^tenant_[0-9a-f]{32}$' ORDER BY nspname $$;
REVOKE EXECUTE ON FUNCTION tenant_schemas() FROM PUBLIC;

CREATE OR REPLACE FUNCTION credentials_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (credential_id uuid, credential_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT c.id, c.tenant_id FROM public.agent_credentials c WHERE c.key_version < p_version ORDER BY c.key_version, c.id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT id, tenant_id FROM %I.agent_credentials WHERE key_version < $1 ORDER BY key_version, id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION credentials_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_credentials WHERE key_version < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_credentials WHERE key_version < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;

CREATE OR REPLACE FUNCTION memory_keys_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_agent_id uuid, key_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT k.agent_id, k.tenant_id FROM public.agent_memory_keys k WHERE public.wrapped_key_version(k.wrapped_key) < p_version ORDER BY k.agent_id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT agent_id, tenant_id FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1 ORDER BY agent_id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION memory_keys_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;

CREATE OR REPLACE FUNCTION memory_maintenance_tenants(p_now timestamptz)
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT p.tenant_id FROM public.memory_purges p WHERE p.purge_after <= p_now
         UNION SELECT m.tenant_id FROM public.agent_memory m WHERE m.expires_at <= p_now;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT tenant_id FROM %I.memory_purges WHERE purge_after <= $1
                                 UNION SELECT tenant_id FROM %I.agent_memory WHERE expires_at <= $1', s, s) USING p_now;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION expire_overdue_tasks()
  RETURNS TABLE (task_id uuid, task_tenant_id uuid, task_agent_id uuid)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY UPDATE public.tasks t SET status = 'TIMED_OUT', finished_at = now()
   WHERE t.status IN ('QUEUED', 'RUNNING') AND t.deadline < now() RETURNING t.id, t.tenant_id, t.agent_id;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('UPDATE %I.tasks SET status = ''TIMED_OUT'', finished_at = now()
                                  WHERE status IN (''QUEUED'', ''RUNNING'') AND deadline < now() RETURNING id, tenant_id, agent_id', s);
  END LOOP;
END
$$;

-- A deleted agent's memory is purged after its tenant's retention: the pending purge goes beside
-- the agent's table (the shared one, or the enterprise tenant's own schema, whatever the caller's
-- search_path). Moving a tenant into its schema (upgrade_tenant_to_enterprise) deletes the shared
-- rows only after copying them: those agents live on, so nothing is scheduled for them.
CREATE OR REPLACE FUNCTION agents_schedule_memory_purge() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
    RETURN NULL;
  END IF;
  EXECUTE format('INSERT INTO %I.memory_purges (agent_id, tenant_id, deleted_at, purge_after)
                  SELECT $1, $2, now(), now() + make_interval(days => t.memory_retention_days)
                    FROM public.tenants t WHERE t.id = $2', TG_TABLE_SCHEMA)
    USING OLD.id, OLD.tenant_id;
  RETURN NULL;
END
$$;

-- Regression: the tier guard filtered on plan = 'ENTERPRISE' inside its locking subquery, so a
-- write racing an upgrade saw the old plan, matched no row, took no lock, and landed in the shared
-- table behind the move. Lock the tenant row first (waiting for a move in progress), then read the
-- plan of the row as the move left it.
CREATE OR REPLACE FUNCTION tenant_rows_stay_in_their_tier() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE current_plan text;
BEGIN
  IF TG_TABLE_SCHEMA = 'public' THEN
    SELECT plan INTO current_plan FROM public.tenants WHERE id = NEW.tenant_id FOR KEY SHARE;
    IF current_plan = 'ENTERPRISE' THEN
      RAISE EXCEPTION 'tenant % keeps its rows in its own schema', NEW.tenant_id USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
