-- Backups and restores: what an archive holds (every tenant table except backup_exclusions) and the
-- restore of one tenant's archive into one of its schemas. Crypto-shredding reaches backups: agent
-- memory keys are never archived; a restore opens memory rows with the live keys only.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- What a backup holds: every tenant table except those in backup_exclusions.
CREATE OR REPLACE FUNCTION tenant_backup_tables() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT t FROM public.tenant_tables() t WHERE t NOT IN (SELECT table_name FROM public.backup_exclusions) ORDER BY t $$;
GRANT EXECUTE ON FUNCTION tenant_backup_tables() TO fleetgate_app;

-- Restores one tenant's backup (p_data: {"<table>": [rows as jsonb]}) into an empty schema of that
-- tenant: its own (tenant_<id>, after a loss: SAME) or a new one beside it (tenant_<id>_restore_<suffix>:
-- NEW), created here. Operators only, through the gateway, which decrypted the archive; the rows keep
-- their ids, times and audit chain exactly (user triggers are off for the copy), every row must belong
-- to p_tenant (the schema pin refuses anything else), a table that already holds rows is refused
-- rather than merged, and tables are filled parents first (tenant_tables_in_fk_order). For memory:
--  * the excluded tables (backup_exclusions) are never filled from p_data;
--  * an agent_memory row is restored only when the live key of its agent (the mirror,
--    memory_key_escrow) has the key_id the row was sealed under (a row of an archive from before key
--    ids names none: the live key is taken as it). The others are counted in the report;
--  * into SAME, the live keys of the restored agents are put back from the mirror, with their key
--    ids; into NEW no key is put at all: its memory rows open with the live agent's key as long as
--    that agent lives, and not at all once it is deleted.
-- Returns {"rows": {<table>: <count>}, "memory_shredded": {"agents": n, "entries": n}}.
CREATE OR REPLACE FUNCTION restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  own text := public.tenant_schema_name(p_tenant);
  ordered name[] := public.tenant_tables_in_fk_order();
  excluded name[] := ARRAY(SELECT table_name FROM public.backup_exclusions);
  t name;
  occupied boolean;
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
  IF EXISTS (SELECT FROM jsonb_object_keys(p_data) k WHERE k <> ALL (ordered)) THEN
    RAISE EXCEPTION 'restore_tenant_rows: the archive holds a table that is not a tenant table' USING ERRCODE = 'data_exception';
  END IF;
  PERFORM public.sync_tenant_schema(p_tenant, p_schema);
  -- FORCE binds the owner too: the copy runs under the tenant's own setting, restored afterwards.
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  -- Parents first, so that every foreign key finds its row.
  FOREACH t IN ARRAY ordered LOOP
    EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', p_schema, t) INTO occupied;
    IF occupied THEN
      RAISE EXCEPTION 'restore_tenant_rows: %.% is not empty', p_schema, t USING ERRCODE = 'unique_violation';
    END IF;
    IF t = 'agent_memory_keys' AND p_schema = own THEN
      -- From the live mirror, never from p_data; for agents restored above (the loop goes parents first).
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.agent_memory_keys (agent_id, tenant_id, provider, wrapped_key, created_at, key_id) '
                     'SELECT e.agent_id, e.tenant_id, e.provider, e.wrapped_key, e.created_at, e.key_id FROM public.memory_key_escrow e '
                     'WHERE e.tenant_id = $1 AND EXISTS (SELECT FROM %I.agents a WHERE a.id = e.agent_id)', p_schema, p_schema)
        USING p_tenant;
      EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
    ELSIF t = ANY (excluded) THEN
      NULL; -- never from an archive
    ELSIF t = 'agent_memory' THEN
      -- An archived row is restored when the live key of its agent is the key it was sealed under
      -- (a row of an archive from before memory key ids names none: the live key is taken as it).
      EXECUTE format('SELECT count(DISTINCT r.agent_id), count(*) FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                     'WHERE NOT EXISTS (SELECT FROM public.memory_key_escrow k '
                     'WHERE k.agent_id = r.agent_id AND k.tenant_id = $2 AND (r.key_id IS NULL OR k.key_id = r.key_id))', p_schema, t)
        INTO shredded_agents, shredded_entries USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.%I SELECT r.* FROM jsonb_array_elements($1) e '
                     'JOIN public.memory_key_escrow k ON k.agent_id = (e ->> ''agent_id'')::uuid AND k.tenant_id = $2 '
                     'CROSS JOIN LATERAL jsonb_populate_record(NULL::%I.%I, e || jsonb_build_object(''key_id'', k.key_id)) r '
                     'WHERE (e ->> ''key_id'') IS NULL OR (e ->> ''key_id'')::uuid = k.key_id', p_schema, t, p_schema, t)
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
