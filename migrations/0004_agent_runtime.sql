-- The agent runtime: one container per agent, tasks sent to agents, durable provisioning jobs,
-- per-tenant quotas.
--
-- Jobs and tasks are tenant rows like any other (RLS enabled and forced, a policy per command on
-- app.tenant_id). A worker must still find the next due job without knowing its tenant: it calls
-- claim_job(), a SECURITY DEFINER function owned by fleetgate_owner that returns only the job's id
-- and tenant id. The worker then runs the job in a transaction under that tenant's setting, with
-- RLS, exactly like a request. The same holds for the reconciler's runtime_agents(). The policies
-- that let these two functions see every tenant are granted TO fleetgate_owner only (a NOLOGIN role
-- nobody connects as), so the app role never gains a cross-tenant read.

ALTER TABLE agents
  ADD CONSTRAINT agents_status_check
    CHECK (status IN ('CREATED', 'PROVISIONING', 'RUNNING', 'STOPPED', 'FAILED', 'DELETING')),
  -- What the tenant asked for; provisioning jobs converge the container to it.
  ADD COLUMN desired_state text NOT NULL DEFAULT 'RUNNING' CHECK (desired_state IN ('RUNNING', 'STOPPED')),
  -- One of the commands the operator's allow-list offers for the image; NULL: the image's default.
  ADD COLUMN command text[] CHECK (cardinality(command) BETWEEN 1 AND 32),
  ADD COLUMN memory_mb integer NOT NULL DEFAULT 64 CHECK (memory_mb BETWEEN 16 AND 4096),
  ADD COLUMN cpu_millis integer NOT NULL DEFAULT 250 CHECK (cpu_millis BETWEEN 10 AND 4000),
  -- What the engine last reported.
  ADD COLUMN container_id text CHECK (length(container_id) <= 128),
  ADD COLUMN runtime_image text CHECK (length(runtime_image) <= 300),
  ADD COLUMN started_at timestamptz,
  ADD COLUMN exit_code integer,
  ADD COLUMN status_reason text CHECK (length(status_reason) <= 500);

ALTER TABLE tenants
  ADD COLUMN max_agents integer NOT NULL DEFAULT 200 CHECK (max_agents >= 0),
  ADD COLUMN max_memory_mb integer NOT NULL DEFAULT 16384 CHECK (max_memory_mb >= 0),
  ADD COLUMN max_cpu_millis integer NOT NULL DEFAULT 64000 CHECK (max_cpu_millis >= 0);
-- Operators change quotas (tenants_update_lifecycle admits operator transactions only).
GRANT UPDATE (max_agents, max_memory_mb, max_cpu_millis) ON tenants TO fleetgate_app;

CREATE TABLE tasks (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  agent_id     uuid NOT NULL,
  input        text NOT NULL CHECK (length(input) <= 65536),
  status       text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
  result       text CHECK (length(result) <= 65536),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  UNIQUE (id, tenant_id),
  FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX tasks_agent_page ON tasks (tenant_id, agent_id, id);

-- Wakes the replica holding the agent's channel when a task commits (NOTIFY is sent at commit).
CREATE FUNCTION tasks_announce() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tasks', NEW.agent_id::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER tasks_announce AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_announce();

CREATE TABLE jobs (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  -- agent.converge: bring the agent's container to its desired state; agent.remove: remove its container and volume.
  kind          text NOT NULL CHECK (kind IN ('agent.converge', 'agent.remove')),
  agent_id      uuid NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
  status        text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 8,
  run_at        timestamptz NOT NULL DEFAULT now(),
  locked_by     text,
  locked_until  timestamptz,
  last_error    text CHECK (length(last_error) <= 1000),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status IN ('QUEUED', 'RUNNING');
-- Wakes idle workers when a job commits; they also poll, so a lost notification only delays.
CREATE FUNCTION jobs_announce() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_jobs', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_announce AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_announce();
CREATE INDEX jobs_tenant_agent ON jobs (tenant_id, agent_id) WHERE status IN ('QUEUED', 'RUNNING');

CALL enable_tenant_rls('tasks', 'jobs');

-- Owner-only, for the two SECURITY DEFINER functions below (see the header).
CREATE POLICY jobs_claim_select ON jobs FOR SELECT TO fleetgate_owner USING (true);
CREATE POLICY jobs_claim_update ON jobs FOR UPDATE TO fleetgate_owner USING (true) WITH CHECK (true);
CREATE POLICY agents_runtime_select ON agents FOR SELECT TO fleetgate_owner USING (true);

-- Leases the next due job (a new one, or one whose worker's lease expired: it crashed) to a worker.
-- Returns only ids; the job itself is read under its tenant's RLS setting.
CREATE FUNCTION claim_job(p_worker text, p_lease_seconds integer)
  RETURNS TABLE (job_id uuid, job_tenant_id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
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

-- The agents that should have a running container, by id and tenant only, for the reconciler.
CREATE FUNCTION runtime_agents()
  RETURNS TABLE (agent_id uuid, agent_tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT id, tenant_id FROM agents WHERE desired_state = 'RUNNING' $$;

GRANT SELECT, INSERT, UPDATE ON tasks TO fleetgate_app;
GRANT SELECT, INSERT, UPDATE ON jobs TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION claim_job(text, integer), runtime_agents() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_job(text, integer), runtime_agents() TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION tasks_announce(), jobs_announce() FROM PUBLIC;
