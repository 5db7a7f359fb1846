-- Crypto-shredding reaches backups (issue 5). Agent memory's data keys (agent_memory_keys) are never
-- written to a backup archive and never read back from one: deleting an agent deletes its key row,
-- and no archive taken before that can bring it back. The keys exist only in the live database: the
-- tenant's key table (public for standard tenants, its own schema for enterprise ones) and the
-- mirror memory_key_escrow below, which the same transaction clears.
--
-- What a backup holds: every tenant table except those listed here.
CREATE TABLE backup_exclusions (
  table_name  text PRIMARY KEY,
  reason      text NOT NULL
);
INSERT INTO backup_exclusions VALUES
  ('agent_memory_keys', 'crypto-shredding: a deleted agent''s data key must be gone from every copy, so no copy is ever made; '
                        'a restore opens memory rows with the live keys only');
GRANT SELECT ON backup_exclusions TO fleetgate_app;

CREATE FUNCTION tenant_backup_tables() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT t FROM public.tenant_tables() t WHERE t NOT IN (SELECT table_name FROM public.backup_exclusions) ORDER BY t $$;
GRANT EXECUTE ON FUNCTION tenant_backup_tables() TO fleetgate_app;

-- Where the live keys are found when the tenant schema that held them is lost. Enterprise keys live
-- in the tenant's own schema; a restore into that schema after a loss (`SAME`) would find no key and
-- every agent's memory would be lost with it. So every live key row, in public and in every tenant
-- schema, is mirrored here by a trigger in the same transaction as the change: inserted with the
-- key, rewrapped with it (KEK rotation), and deleted with it (the agent's deletion cascades to its
-- key row, whose trigger deletes this one: crypto-shredding reaches the mirror at once). Dropping a
-- schema fires no trigger, which is the point: the mirror outlives the loss.
-- It is never in a tenant schema nor in a backup (tenant_schema_exclusions), and the app role has no
-- privilege on it at all: only the owner's trigger and restore_tenant_rows() touch it.
CREATE TABLE memory_key_escrow (
  agent_id      uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  provider      text NOT NULL CHECK (provider IN ('local', 'vault')),
  wrapped_key   text NOT NULL CHECK (length(wrapped_key) <= 1000),
  created_at    timestamptz NOT NULL
);
CREATE INDEX memory_key_escrow_tenant ON memory_key_escrow (tenant_id);
ALTER TABLE memory_key_escrow ENABLE ROW LEVEL SECURITY;
ALTER TABLE memory_key_escrow FORCE ROW LEVEL SECURITY;
CREATE POLICY memory_key_escrow_select ON memory_key_escrow FOR SELECT TO fleetgate_owner USING (true);
CREATE POLICY memory_key_escrow_insert ON memory_key_escrow FOR INSERT TO fleetgate_owner WITH CHECK (true);
CREATE POLICY memory_key_escrow_update ON memory_key_escrow FOR UPDATE TO fleetgate_owner USING (true) WITH CHECK (true);
CREATE POLICY memory_key_escrow_delete ON memory_key_escrow FOR DELETE TO fleetgate_owner USING (true);
INSERT INTO tenant_schema_exclusions VALUES
  ('memory_key_escrow', 'the mirror of every live agent memory key, outside the tenant schemas so that it outlives the loss of one; '
                        'written only by the owner''s trigger on agent_memory_keys, never backed up');

-- Follows agent_memory_keys in public and in the tenant's own schema (a schema restored beside it, to
-- inspect, is not live and is ignored). Moving a standard tenant into its schema deletes the shared
-- key rows after copying them (upgrade_tenant_to_enterprise, marked by fleetgate.tenant_move): those
-- keys live on, so the mirror keeps them.
CREATE FUNCTION memory_key_escrow_follow() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(OLD.tenant_id) THEN
      RETURN NULL;
    END IF;
    IF TG_TABLE_SCHEMA = 'public' AND coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
      RETURN NULL;
    END IF;
    DELETE FROM public.memory_key_escrow WHERE agent_id = OLD.agent_id AND tenant_id = OLD.tenant_id;
  ELSE
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(NEW.tenant_id) THEN
      RETURN NULL;
    END IF;
    INSERT INTO public.memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at)
    VALUES (NEW.agent_id, NEW.tenant_id, NEW.provider, NEW.wrapped_key, NEW.created_at)
    ON CONFLICT (agent_id) DO UPDATE SET provider = EXCLUDED.provider, wrapped_key = EXCLUDED.wrapped_key, created_at = EXCLUDED.created_at
      WHERE memory_key_escrow.tenant_id = EXCLUDED.tenant_id;
  END IF;
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION memory_key_escrow_follow() FROM PUBLIC;
-- sync_tenant_schema() copies this trigger into every tenant schema (migrate() runs it after this file).
CREATE TRIGGER memory_key_escrow_follow AFTER INSERT OR DELETE OR UPDATE OF wrapped_key ON agent_memory_keys
  FOR EACH ROW EXECUTE FUNCTION memory_key_escrow_follow();

-- The keys that exist today, in public and in every tenant schema.
INSERT INTO memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at)
  SELECT agent_id, tenant_id, provider, wrapped_key, created_at FROM public.agent_memory_keys;
DO $$
DECLARE s name;
BEGIN
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('INSERT INTO public.memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at)
                    SELECT agent_id, tenant_id, provider, wrapped_key, created_at FROM %I.agent_memory_keys
                    ON CONFLICT (agent_id) DO NOTHING', s);
  END LOOP;
END
$$;

-- restore_tenant_rows() (0008) again, with these changes for memory, enforced here whatever the
-- gateway sends (an archive written before this migration does carry agent_memory_keys):
--  * the excluded tables are never filled from p_data (their rows in an archive are ignored);
--  * the live keys are the mirror above (memory_key_escrow): an agent_memory row is restored only
--    when its agent has a live key, the only key that can open it. The others belong to agents whose
--    key was destroyed since the backup (deleted, or memory wiped): they are not restored, and are
--    counted in the report;
--  * into the tenant's own schema (SAME, after a loss), the live keys of the restored agents are put
--    back from the mirror, so their memory reads as before; into a schema beside it (NEW) no key is
--    put at all: its memory rows open with the live agent's key as long as that agent lives, and
--    not at all once it is deleted (no copy of a key is made that a later deletion would miss).
-- Returns {"rows": {<table>: <count>}, "memory_shredded": {"agents": n, "entries": n}}.
CREATE OR REPLACE FUNCTION restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  own text := public.tenant_schema_name(p_tenant);
  remaining name[] := ARRAY(SELECT public.tenant_tables());
  excluded name[] := ARRAY(SELECT table_name FROM public.backup_exclusions);
  t name;
  progressed boolean;
  restored jsonb := '{}'::jsonb;
  n bigint;
  shredded_agents bigint := 0;
  shredded_entries bigint := 0;
  previous_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'restore_tenant_rows: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_schema IS DISTINCT FROM own AND p_schema !~ ('^' || own || '_restore_[a-z0-9]{1,20}$') THEN
    RAISE EXCEPTION 'restore_tenant_rows: not a schema of this tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_schema = own AND NOT EXISTS (SELECT FROM public.tenants WHERE id = p_tenant AND plan = 'ENTERPRISE') THEN
    RAISE EXCEPTION 'restore_tenant_rows: only an enterprise tenant is restored into its own schema' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT FROM jsonb_object_keys(p_data) k WHERE k <> ALL (remaining)) THEN
    RAISE EXCEPTION 'restore_tenant_rows: the archive holds a table that is not a tenant table' USING ERRCODE = 'data_exception';
  END IF;
  PERFORM public.sync_tenant_schema(p_tenant, p_schema);
  -- FORCE binds the owner too: the copy runs under the tenant's own setting, restored afterwards.
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  WHILE cardinality(remaining) > 0 LOOP
    progressed := false;
    FOREACH t IN ARRAY remaining LOOP
      CONTINUE WHEN EXISTS (
        SELECT FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'f' AND f.relname <> t AND f.relname = ANY (remaining));
      EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', p_schema, t) INTO progressed;
      IF progressed THEN
        RAISE EXCEPTION 'restore_tenant_rows: %.% is not empty', p_schema, t USING ERRCODE = 'unique_violation';
      END IF;
      IF t = 'agent_memory_keys' AND p_schema = own THEN
        -- From the live mirror, never from p_data; for agents restored above (foreign keys order the loop).
        EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
        EXECUTE format('INSERT INTO %I.agent_memory_keys (agent_id, tenant_id, provider, wrapped_key, created_at) '
                       'SELECT e.agent_id, e.tenant_id, e.provider, e.wrapped_key, e.created_at FROM public.memory_key_escrow e '
                       'WHERE e.tenant_id = $1 AND EXISTS (SELECT FROM %I.agents a WHERE a.id = e.agent_id)', p_schema, p_schema)
          USING p_tenant;
        EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
      ELSIF t = ANY (excluded) THEN
        NULL; -- never from an archive
      ELSIF t = 'agent_memory' THEN
        EXECUTE format('SELECT count(DISTINCT r.agent_id), count(*) FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                       'WHERE NOT EXISTS (SELECT FROM public.memory_key_escrow k WHERE k.agent_id = r.agent_id AND k.tenant_id = $2)', p_schema, t)
          INTO shredded_agents, shredded_entries USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
        EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
        EXECUTE format('INSERT INTO %I.%I SELECT r.* FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                       'WHERE EXISTS (SELECT FROM public.memory_key_escrow k WHERE k.agent_id = r.agent_id AND k.tenant_id = $2)', p_schema, t, p_schema, t)
          USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
        restored := restored || jsonb_build_object(t, n);
      ELSE
        EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
        EXECUTE format('INSERT INTO %I.%I SELECT * FROM jsonb_populate_recordset(NULL::%I.%I, $1)', p_schema, t, p_schema, t)
          USING coalesce(p_data -> t, '[]'::jsonb);
        GET DIAGNOSTICS n = ROW_COUNT;
        EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
        restored := restored || jsonb_build_object(t, n);
      END IF;
      remaining := array_remove(remaining, t);
      progressed := true;
    END LOOP;
    IF NOT progressed THEN
      RAISE EXCEPTION 'restore_tenant_rows: foreign keys form a cycle among %', remaining;
    END IF;
  END LOOP;
  -- The live schema's counters on the shared tenants row follow what was restored.
  IF p_schema = own THEN
    EXECUTE format('UPDATE public.tenants SET user_count = (SELECT count(*) FROM %I.users), agent_count = (SELECT count(*) FROM %I.agents) WHERE id = $1', own, own)
      USING p_tenant;
  END IF;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN jsonb_build_object('rows', restored, 'memory_shredded', jsonb_build_object('agents', shredded_agents, 'entries', shredded_entries));
END
$$;
REVOKE EXECUTE ON FUNCTION restore_tenant_rows(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION restore_tenant_rows(uuid, text, jsonb) TO fleetgate_app;
