-- Issue 5: every memory row names the data key it was sealed under, so a row whose key is gone is
-- known as such without trying to open it. Before this, a restore brought back every archived row of
-- an agent that still had *a* key (0012): after a wipe and a new write since the backup, that key was
-- a newer one, and the restored older rows could never be opened (export refused until wiped again).
--
-- * agent_memory_keys.key_id: the key's identity, made with the key, kept through KEK rewraps (they
--   change the wrapped form, never the key); mirrored into memory_key_escrow.
-- * agent_memory.key_id: the key the row's value is sealed under, written by the gateway with the
--   value. A row is readable only while its agent's key has that id: the gateway reads and lists
--   only such rows; a row sealed under a destroyed key (a put racing a wipe) is never shown.
-- * restore_tenant_rows() restores a memory row only when the live key of its agent has its key_id.
--   Rows of an archive written before this migration carry no key_id: they are taken as sealed under
--   the agent's live key, as before (their one remaining blind spot).

-- 1. Key ids, in public and in every tenant schema (sync_tenant_schema would add the column too,
--    but only after this file, and the mirror must get the same ids now).
ALTER TABLE agent_memory_keys ADD COLUMN key_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE memory_key_escrow ADD COLUMN key_id uuid;
-- The owner is bound by FORCE RLS and has no UPDATE policy on agent_memory: lifted for this backfill only.
ALTER TABLE agent_memory ADD COLUMN key_id uuid;
ALTER TABLE agent_memory NO FORCE ROW LEVEL SECURITY;
UPDATE agent_memory m SET key_id = k.key_id FROM agent_memory_keys k WHERE k.agent_id = m.agent_id AND k.tenant_id = m.tenant_id;
-- Rows without a key (a deleted agent's, awaiting the purge) are sealed under a key that is gone: an id no key has.
UPDATE agent_memory SET key_id = gen_random_uuid() WHERE key_id IS NULL;
ALTER TABLE agent_memory FORCE ROW LEVEL SECURITY;
ALTER TABLE agent_memory ALTER COLUMN key_id SET NOT NULL;
DO $$
DECLARE s name;
BEGIN
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('ALTER TABLE %I.agent_memory_keys ADD COLUMN key_id uuid NOT NULL DEFAULT gen_random_uuid()', s);
    EXECUTE format('ALTER TABLE %I.agent_memory ADD COLUMN key_id uuid', s);
    EXECUTE format('ALTER TABLE %I.agent_memory NO FORCE ROW LEVEL SECURITY', s);
    EXECUTE format('UPDATE %I.agent_memory m SET key_id = k.key_id FROM %I.agent_memory_keys k WHERE k.agent_id = m.agent_id', s, s);
    EXECUTE format('UPDATE %I.agent_memory SET key_id = gen_random_uuid() WHERE key_id IS NULL', s);
    EXECUTE format('ALTER TABLE %I.agent_memory FORCE ROW LEVEL SECURITY', s);
    EXECUTE format('ALTER TABLE %I.agent_memory ALTER COLUMN key_id SET NOT NULL', s);
    EXECUTE format('UPDATE public.memory_key_escrow e SET key_id = k.key_id FROM %I.agent_memory_keys k WHERE k.agent_id = e.agent_id', s);
  END LOOP;
END
$$;
UPDATE memory_key_escrow e SET key_id = k.key_id FROM agent_memory_keys k WHERE k.agent_id = e.agent_id AND e.key_id IS NULL;
-- A mirror row whose key table is lost (a schema dropped before this migration) keeps a fresh id.
UPDATE memory_key_escrow SET key_id = gen_random_uuid() WHERE key_id IS NULL;
ALTER TABLE memory_key_escrow ALTER COLUMN key_id SET NOT NULL;

-- 2. The mirror follows the key id (0012, with key_id).
CREATE OR REPLACE FUNCTION memory_key_escrow_follow() RETURNS trigger
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
    INSERT INTO public.memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at, key_id)
    VALUES (NEW.agent_id, NEW.tenant_id, NEW.provider, NEW.wrapped_key, NEW.created_at, NEW.key_id)
    ON CONFLICT (agent_id) DO UPDATE SET provider = EXCLUDED.provider, wrapped_key = EXCLUDED.wrapped_key,
      created_at = EXCLUDED.created_at, key_id = EXCLUDED.key_id
      WHERE memory_key_escrow.tenant_id = EXCLUDED.tenant_id;
  END IF;
  RETURN NULL;
END
$$;

-- 3. restore_tenant_rows() (0012) again, with the memory rows matched on key_id, and the mirror's
--    key ids put back with the keys (SAME).
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
        EXECUTE format('INSERT INTO %I.agent_memory_keys (agent_id, tenant_id, provider, wrapped_key, created_at, key_id) '
                       'SELECT e.agent_id, e.tenant_id, e.provider, e.wrapped_key, e.created_at, e.key_id FROM public.memory_key_escrow e '
                       'WHERE e.tenant_id = $1 AND EXISTS (SELECT FROM %I.agents a WHERE a.id = e.agent_id)', p_schema, p_schema)
          USING p_tenant;
        EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
      ELSIF t = ANY (excluded) THEN
        NULL; -- never from an archive
      ELSIF t = 'agent_memory' THEN
        -- An archived row is restored when the live key of its agent is the key it was sealed under
        -- (a row of an archive older than 0019 names none: the live key is taken as it, as before).
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
