-- The agent runtime: task and job wake-ups, the job queue's lease, the reconciler's and the deadline
-- sweeper's cross-tenant listings (owner-only SECURITY DEFINER, ids only: the work then runs under
-- each row's tenant), and an agent request's entry (token liveness).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- Wakes the replica holding the agent's channel when a task commits (NOTIFY is sent at commit).
CREATE OR REPLACE FUNCTION tasks_announce() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tasks', NEW.agent_id::text);
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION tasks_announce() FROM PUBLIC;

-- Wakes idle workers when a job commits; they also poll, so a lost notification only delays.
CREATE OR REPLACE FUNCTION jobs_announce() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_jobs', '');
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION jobs_announce() FROM PUBLIC;

-- Leases the next due job (a new one, or one whose worker's lease expired: it crashed) to a worker.
-- Returns only ids; the job itself is read under its tenant's RLS setting.
CREATE OR REPLACE FUNCTION claim_job(p_worker text, p_lease_seconds integer)
  RETURNS TABLE (job_id uuid, job_tenant_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
  UPDATE jobs
     SET status = 'RUNNING', locked_by = p_worker, attempts = attempts + 1, updated_at = now(),
         locked_until = now() + make_interval(secs => p_lease_seconds)
   WHERE id = (SELECT id FROM jobs
                WHERE status IN ('QUEUED', 'RUNNING') AND run_at <= now()
                  AND (locked_until IS NULL OR locked_until < now())
                  -- one job per agent at a time, oldest first
                  AND NOT EXISTS (SELECT FROM jobs other
                                   WHERE other.agent_id = jobs.agent_id AND other.id <> jobs.id
                                     AND other.status = 'RUNNING' AND other.locked_until >= now())
                ORDER BY run_at, id
                LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, tenant_id
$$;
REVOKE EXECUTE ON FUNCTION claim_job(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_job(text, integer) TO fleetgate_app;

-- The agents that should have a running container, across the shared table and every tenant schema
-- (ids only), for the reconciler. The owner-only policy agents_runtime_select is copied into tenant
-- schemas by sync_tenant_schema.
CREATE OR REPLACE FUNCTION runtime_agents()
  RETURNS TABLE (agent_id uuid, agent_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT a.id, a.tenant_id FROM public.agents a WHERE a.desired_state = 'RUNNING';
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^tenant_[0-9a-f]{32}$' LOOP
    RETURN QUERY EXECUTE format('SELECT id, tenant_id FROM %I.agents WHERE desired_state = ''RUNNING''', s);
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION runtime_agents() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION runtime_agents() TO fleetgate_app;

-- Every replica calls this about once a second: open tasks past their deadline become TIMED_OUT,
-- across the shared table and every tenant schema; returns ids only. The owner-only policies
-- tasks_expire_select/tasks_expire_update let it see overdue open tasks and only turn them TIMED_OUT.
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
REVOKE EXECUTE ON FUNCTION expire_overdue_tasks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_overdue_tasks() TO fleetgate_app;

-- An agent's request opens with this one statement: it sets the request's transaction-local
-- settings (tenant, search_path, agent: exactly what forkForPrincipal's session variables set) and
-- then, under them, checks that the agent still exists in that tenant and still holds the token's
-- generation. Stop, a new container start and deletion revoke at once; the check and the request
-- share one transaction. SECURITY INVOKER: the lookup runs as the app role under RLS, and an
-- enterprise tenant's agents are found through its search_path. Static SQL: Postgres re-plans a
-- cached plan when search_path differs from the one it was planned under
-- (test/agent-request-entry.test.ts).
CREATE OR REPLACE FUNCTION enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true),
          set_config('app.agent_id', p_agent_id::text, true);
  RETURN EXISTS (SELECT 1 FROM agents a WHERE a.id = p_agent_id AND a.tenant_id = p_tenant_id AND a.token_generation = p_generation);
END
$$;
REVOKE EXECUTE ON FUNCTION enter_agent_request(uuid, uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enter_agent_request(uuid, uuid, text, integer) TO fleetgate_app;
