-- Agent runtime limits: opt-in egress on the tenant's own network, a cap on crash loops, task
-- timeouts. Quotas need no schema change: operators already update max_agents, max_memory_mb and
-- max_cpu_millis (0004 grants them; tenants_guard_columns in 0003 admits operator transactions only).

ALTER TABLE agents
  -- Off: NetworkMode none (only lo). On: the container joins its tenant's own bridge network.
  ADD COLUMN egress boolean NOT NULL DEFAULT false,
  -- Times the container exited on its own (or vanished), counted in a window that opens at the first;
  -- past the restart cap the agent is FAILED and stays so until the tenant starts or restarts it.
  ADD COLUMN crash_count integer NOT NULL DEFAULT 0 CHECK (crash_count >= 0),
  ADD COLUMN crash_window_started_at timestamptz;

ALTER TABLE tasks
  DROP CONSTRAINT tasks_status_check,
  ADD CONSTRAINT tasks_status_check CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT')),
  -- Not answered by then: TIMED_OUT, never handed out again, a late answer refused.
  ADD COLUMN deadline timestamptz;
CREATE INDEX tasks_overdue ON tasks (deadline) WHERE status IN ('QUEUED', 'RUNNING');

-- Owner-only (a NOLOGIN role), for expire_overdue_tasks() below: it sees overdue open tasks and may
-- only turn them into TIMED_OUT. The app role gains nothing across tenants.
CREATE POLICY tasks_expire_select ON tasks FOR SELECT TO fleetgate_owner USING (deadline IS NOT NULL);
CREATE POLICY tasks_expire_update ON tasks FOR UPDATE TO fleetgate_owner
  USING (status IN ('QUEUED', 'RUNNING') AND deadline < now())
  WITH CHECK (status = 'TIMED_OUT');

-- Every replica calls this about once a second; it returns ids only.
CREATE FUNCTION expire_overdue_tasks()
  RETURNS TABLE (task_id uuid, task_tenant_id uuid, task_agent_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
  UPDATE tasks SET status = 'TIMED_OUT', finished_at = now()
   WHERE status IN ('QUEUED', 'RUNNING') AND deadline < now()
  RETURNING id, tenant_id, agent_id
$$;
REVOKE EXECUTE ON FUNCTION expire_overdue_tasks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION expire_overdue_tasks() TO fleetgate_app;
