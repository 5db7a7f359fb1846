-- Crypto-shredding reaches backups (issue 5). Agent memory's data keys (agent_memory_keys) are never
-- written to a backup archive and never read back from one: deleting an agent deletes its key row,
-- and no archive taken before that can bring it back. The keys exist in one place only, the live
-- key table of the tenant (public for standard tenants, the tenant's own schema for enterprise ones).
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

-- restore_tenant_rows() (0008) again, with two changes for memory, both enforced here whatever the
-- gateway sends (an archive written before this migration does carry agent_memory_keys):
--  * the excluded tables are never filled from p_data (their rows in an archive are ignored);
--  * an agent_memory row is restored only when its agent has a key in the tenant's LIVE key table
--    (its own schema, or public for a standard tenant), the only key that can open it. The others
--    belong to agents whose key was destroyed (deleted or wiped since the backup, or lost with the
--    schema): they are not restored, and are counted in the report.
-- The key table of the target stays as it is (empty: a new schema, or the own schema after a loss).
-- A restored schema beside the live one holds no key: its memory rows open with the live agent's
-- key as long as that agent lives, and not at all once it is deleted.
-- Returns {"rows": {<table>: <count>}, "memory_shredded": {"agents": n, "entries": n}}.
CREATE OR REPLACE FUNCTION restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  own text := public.tenant_schema_name(p_tenant);
  live_keys text;
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
  -- Where the tenant's live keys are, decided before the target schema may be created below.
  live_keys := CASE WHEN EXISTS (SELECT FROM public.tenants WHERE id = p_tenant AND plan = 'ENTERPRISE')
                         AND EXISTS (SELECT FROM pg_namespace WHERE nspname = own)
                    THEN quote_ident(own) ELSE 'public' END || '.agent_memory_keys';
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
      IF t = ANY (excluded) THEN
        NULL; -- never from an archive
      ELSIF t = 'agent_memory' THEN
        EXECUTE format('SELECT count(DISTINCT r.agent_id), count(*) FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                       'WHERE NOT EXISTS (SELECT FROM %s k WHERE k.agent_id = r.agent_id AND k.tenant_id = $2)', p_schema, t, live_keys)
          INTO shredded_agents, shredded_entries USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
        EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
        EXECUTE format('INSERT INTO %I.%I SELECT r.* FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                       'WHERE EXISTS (SELECT FROM %s k WHERE k.agent_id = r.agent_id AND k.tenant_id = $2)', p_schema, t, p_schema, t, live_keys)
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
