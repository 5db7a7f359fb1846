-- Agent memory and explicit sharing (issue 5): agent tokens, private encrypted memory per agent,
-- crypto-shredding on delete, purges within the tenant's retention, handoffs and workspace files.
--
-- The agent wall. Every table here carries tenant_id AND agent_id, and its policies add, to the
-- tenant wall, `app_current_agent() IS NULL OR agent_id = app_current_agent()`: when the gateway
-- acts for an agent principal it sets app.agent_id (transaction-locally, like app.tenant_id), and
-- from then on a row of a sibling agent matches no policy, for SELECT, INSERT, UPDATE and DELETE.
-- Tenant members (owners/admins exporting or wiping one agent) run without app.agent_id and are
-- held to one agent at a time by the services and the ORM's agent filter.

-- The current request's agent, or NULL when the principal is not an agent. nullif() as for tenants.
CREATE FUNCTION app_current_agent() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.agent_id', true), '')::uuid $$;

-- Agent tokens: a token carries the generation current when it was minted; the gateway admits it
-- only while the agent row still holds that generation. Minting for a new container start and
-- stopping the agent both move the generation on (revocation on every replica at once); deleting
-- the agent removes the row.
ALTER TABLE agents ADD COLUMN token_generation integer NOT NULL DEFAULT 0;

-- Per-tenant memory settings: retention of a deleted agent's rows (owners set it) and the largest
-- value one entry may hold (operators set it, like every other limit).
ALTER TABLE tenants
  ADD COLUMN memory_retention_days integer NOT NULL DEFAULT 30 CHECK (memory_retention_days BETWEEN 1 AND 3650),
  ADD COLUMN memory_max_value_bytes integer NOT NULL DEFAULT 65536 CHECK (memory_max_value_bytes BETWEEN 1 AND 1048576);
GRANT UPDATE (memory_retention_days, memory_max_value_bytes) ON tenants TO fleetgate_app;

-- A tenant may change its own settings (audit and memory retention) and nothing else.
CREATE OR REPLACE FUNCTION tenants_guard_columns() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NOT app_is_operator()
     AND (to_jsonb(NEW) - 'audit_retention_days' - 'memory_retention_days')
         IS DISTINCT FROM (to_jsonb(OLD) - 'audit_retention_days' - 'memory_retention_days') THEN
    RAISE EXCEPTION 'only operators change a tenant''s lifecycle, limits and quotas' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;

-- The agent's data key, wrapped by the key provider (the KEK never enters the database). Deleting
-- the agent deletes this row in the same statement (ON DELETE CASCADE): crypto-shredding. Without
-- it the agent's ciphertexts, in the table or in any backup taken afterwards, cannot be decrypted.
CREATE TABLE agent_memory_keys (
  agent_id      uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  provider      text NOT NULL CHECK (provider IN ('local', 'vault')),
  wrapped_key   text NOT NULL CHECK (length(wrapped_key) <= 1000),
  created_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id) ON DELETE CASCADE
);

-- Memory entries. Key and tags stay plaintext (searchable); the JSON value is AES-256-GCM under
-- the agent's data key: ciphertext = iv (12) || tag (16) || encrypted JSON, with the tenant, agent
-- and key as additional data, so a ciphertext moved to another row or agent fails to decrypt.
-- No foreign key to agents on purpose: a deleted agent's rows stay (unreadable) until purged.
CREATE TABLE agent_memory (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  agent_id    uuid NOT NULL,
  key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
  tags        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 32),
  ciphertext  bytea NOT NULL CHECK (length(ciphertext) BETWEEN 29 AND 1048576 + 28),
  size_bytes  integer NOT NULL CHECK (size_bytes >= 0),
  expires_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, agent_id, key)
);
CREATE INDEX agent_memory_page ON agent_memory (tenant_id, agent_id, id);
CREATE INDEX agent_memory_tags ON agent_memory USING gin (tags);
CREATE INDEX agent_memory_expiry ON agent_memory (expires_at) WHERE expires_at IS NOT NULL;

-- Handoffs: agent_id is the recipient (its inbox), from_agent_id the sender. Both ends see it;
-- nobody else does. The recipient must exist in the same tenant when it is sent.
CREATE TABLE handoffs (
  id             uuid PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  agent_id       uuid NOT NULL,
  from_agent_id  uuid NOT NULL,
  payload        jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  received_at    timestamptz,
  -- The recipient's inbox goes with it; the sender is checked by the insert policy instead, so
  -- deleting a sender does not take what it already handed off.
  FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX handoffs_inbox ON handoffs (tenant_id, agent_id, id);
CREATE INDEX handoffs_sent ON handoffs (tenant_id, from_agent_id, id);

-- Shared workspace files: tenant-level, written by owners/admins; an agent reaches one only
-- through a grant row naming it (READ or WRITE).
CREATE TABLE workspace_files (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}$'),
  content     text NOT NULL CHECK (octet_length(content) <= 1048576),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, tenant_id),
  UNIQUE (tenant_id, name)
);
CREATE TABLE workspace_file_grants (
  file_id     uuid NOT NULL,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  agent_id    uuid NOT NULL,
  mode        text NOT NULL CHECK (mode IN ('READ', 'WRITE')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, agent_id),
  FOREIGN KEY (file_id, tenant_id) REFERENCES workspace_files (id, tenant_id) ON DELETE CASCADE,
  FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id) ON DELETE CASCADE
);

-- Deleted agents whose memory rows await the purge, and when it is due. Written by the trigger
-- below in the deleting transaction, under its RLS setting; read by tenant members (pending purges).
CREATE TABLE memory_purges (
  agent_id      uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  deleted_at    timestamptz NOT NULL DEFAULT now(),
  purge_after   timestamptz NOT NULL
);

CREATE FUNCTION agents_schedule_memory_purge() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  INSERT INTO memory_purges (agent_id, tenant_id, deleted_at, purge_after)
  SELECT OLD.id, OLD.tenant_id, now(), now() + make_interval(days => t.memory_retention_days)
    FROM tenants t WHERE t.id = OLD.tenant_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER agents_schedule_memory_purge AFTER DELETE ON agents FOR EACH ROW EXECUTE FUNCTION agents_schedule_memory_purge();

-- The walls. Pending purges are the tenant members' business: an agent principal matches none.
ALTER TABLE memory_purges ENABLE ROW LEVEL SECURITY;
ALTER TABLE memory_purges FORCE ROW LEVEL SECURITY;
CREATE PROCEDURE enable_members_only_rls(tbl text, select_cond text)
  LANGUAGE plpgsql SET search_path = pg_catalog, public
  AS $$
DECLARE
  cond text := 'tenant_id = app_current_tenant() AND app_current_agent() IS NULL';
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', tbl || '_select', tbl, coalesce(select_cond, cond));
  EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', tbl || '_insert', tbl, cond);
  EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', tbl || '_update', tbl, cond, cond);
  EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', tbl || '_delete', tbl, cond);
END
$$;
REVOKE EXECUTE ON PROCEDURE enable_members_only_rls(text, text) FROM PUBLIC;
CALL enable_members_only_rls('memory_purges', NULL);

CREATE PROCEDURE enable_agent_rls(VARIADIC tables text[])
  LANGUAGE plpgsql SET search_path = pg_catalog, public
  AS $$
DECLARE
  t text;
  cond text := 'tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR agent_id = app_current_agent())';
BEGIN
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, cond, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, cond);
  END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE enable_agent_rls(text[]) FROM PUBLIC;
CALL enable_agent_rls('agent_memory_keys', 'agent_memory');

-- Grants: an agent sees its own; only tenant members (no agent setting) create, change or revoke them.
CALL enable_members_only_rls('workspace_file_grants',
  'tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR agent_id = app_current_agent())');

-- Handoffs: the sender inserts a row addressed to another agent (so INSERT checks the sender) and
-- both ends read it; only the recipient marks it received.
ALTER TABLE handoffs ENABLE ROW LEVEL SECURITY;
ALTER TABLE handoffs FORCE ROW LEVEL SECURITY;
CREATE POLICY handoffs_select ON handoffs FOR SELECT USING (tenant_id = app_current_tenant()
  AND (app_current_agent() IS NULL OR agent_id = app_current_agent() OR from_agent_id = app_current_agent()));
CREATE POLICY handoffs_insert ON handoffs FOR INSERT WITH CHECK (tenant_id = app_current_tenant()
  AND (app_current_agent() IS NULL OR from_agent_id = app_current_agent()));
CREATE POLICY handoffs_update ON handoffs FOR UPDATE
  USING (tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR agent_id = app_current_agent()))
  WITH CHECK (tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR agent_id = app_current_agent()));
CREATE POLICY handoffs_delete ON handoffs FOR DELETE USING (tenant_id = app_current_tenant() AND app_current_agent() IS NULL);

-- Files: an agent sees a file only through its own grant, and updates it only through a WRITE grant.
ALTER TABLE workspace_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspace_files FORCE ROW LEVEL SECURITY;
CREATE POLICY workspace_files_select ON workspace_files FOR SELECT USING (tenant_id = app_current_tenant()
  AND (app_current_agent() IS NULL OR EXISTS (SELECT FROM workspace_file_grants g
        WHERE g.file_id = workspace_files.id AND g.agent_id = app_current_agent())));
CREATE POLICY workspace_files_insert ON workspace_files FOR INSERT WITH CHECK (tenant_id = app_current_tenant() AND app_current_agent() IS NULL);
CREATE POLICY workspace_files_update ON workspace_files FOR UPDATE
  USING (tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR EXISTS (SELECT FROM workspace_file_grants g
        WHERE g.file_id = workspace_files.id AND g.agent_id = app_current_agent() AND g.mode = 'WRITE')))
  WITH CHECK (tenant_id = app_current_tenant());
CREATE POLICY workspace_files_delete ON workspace_files FOR DELETE USING (tenant_id = app_current_tenant() AND app_current_agent() IS NULL);

-- The purge job must find due work without knowing the tenant (like claim_job): this owner-only
-- function returns tenant ids alone; the work itself runs under each tenant's setting, with RLS.
CREATE POLICY memory_purges_due ON memory_purges FOR SELECT TO fleetgate_owner USING (true);
CREATE POLICY agent_memory_expired ON agent_memory FOR SELECT TO fleetgate_owner USING (true);
CREATE FUNCTION memory_maintenance_tenants(p_now timestamptz)
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT tenant_id FROM memory_purges WHERE purge_after <= p_now
  UNION
  SELECT tenant_id FROM agent_memory WHERE expires_at <= p_now
$$;

GRANT SELECT, INSERT, DELETE ON agent_memory_keys TO fleetgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON agent_memory, handoffs, workspace_files, workspace_file_grants TO fleetgate_app;
GRANT SELECT, INSERT, DELETE ON memory_purges TO fleetgate_app;
GRANT UPDATE (purge_after) ON memory_purges TO fleetgate_app;
GRANT EXECUTE ON FUNCTION app_current_agent() TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION agents_schedule_memory_purge(), memory_maintenance_tenants(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_maintenance_tenants(timestamptz) TO fleetgate_app;
