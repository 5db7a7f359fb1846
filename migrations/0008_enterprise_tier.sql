-- The enterprise tier: a dedicated schema per tenant, `tenant_<id without dashes>`, holding its own
-- copy of every tenant-owned table. Requests reach it through a transaction-local search_path
-- (`tenant_<id>, public`, see src/db/request-scope.ts), so the same unqualified SQL serves both tiers.
--
-- The tenant tables are discovered from the catalog, never listed here: every table in public that
-- has a tenant_id column and forced row level security, except the few in tenant_schema_exclusions.
-- sync_tenant_schema() creates what is missing (tables, columns, constraints, indexes, RLS policies,
-- triggers, the app role's grants) by name, so it is idempotent and a shared migration that lands
-- later flows into every tenant schema the next time migrate() runs.
--
-- Walls inside a tenant schema, each holding alone:
--  * the same RLS policies as the shared table (belt and braces), keyed on app.tenant_id;
--  * a CHECK constraint pinning tenant_id to the schema's tenant, so no other tenant's row can ever
--    be stored there, whoever writes (even a superuser or the owner);
--  * the ORM tenant filter, as everywhere.
-- A request for tenant A that names tenant B's schema explicitly therefore reads nothing (the same
-- answer as for a missing row) and every write is refused.

-- Tables with tenant_id that stay shared by every tier, and why.
CREATE TABLE tenant_schema_exclusions (
  table_name  text PRIMARY KEY,
  reason      text NOT NULL
);
INSERT INTO tenant_schema_exclusions VALUES
  ('jobs', 'the provisioning queue: claim_job() finds the next due job across tenants and returns only its id and tenant; '
           'the job itself runs under its tenant''s setting and search_path, so it reads the agent in the tenant schema');

CREATE FUNCTION tenant_schema_name(p_tenant uuid) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 'tenant_' || replace(p_tenant::text, '-', '') $$;

-- The tenant-owned tables of public, found in the catalog (see the header).
CREATE FUNCTION tenant_tables() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity AND c.relforcerowsecurity
     AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     AND c.relname NOT IN (SELECT table_name FROM public.tenant_schema_exclusions)
   ORDER BY c.relname
$$;

-- Brings one tenant's schema up to date with the shared tables. search_path is pg_catalog alone so
-- that pg_get_*def() qualify every name (public.users), which is what the rewrite below relies on.
-- p_schema: another schema for the same tenant (a restore to inspect beside the live one); its pin
-- is the same tenant, and migrate() only syncs the tenant's own schema.
CREATE FUNCTION sync_tenant_schema(p_tenant uuid, p_schema text DEFAULT NULL) RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s text := coalesce(p_schema, public.tenant_schema_name(p_tenant));
  tables name[] := ARRAY(SELECT public.tenant_tables());
  t name;
  src regclass;
  dst regclass;
  r record;
  def text;
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO fleetgate_app', s);
  -- 1. Tables and their columns.
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)', s, t, t);
    src := format('public.%I', t)::regclass;
    dst := format('%I.%I', s, t)::regclass;
    FOR r IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS dflt
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped
                AND NOT EXISTS (SELECT FROM pg_attribute b WHERE b.attrelid = dst AND b.attname = a.attname AND NOT b.attisdropped)
              ORDER BY a.attnum LOOP
      EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', dst, r.attname, r.typ)
        || coalesce(' DEFAULT ' || r.dflt, '') || CASE WHEN r.attnotnull THEN ' NOT NULL' ELSE '' END;
    END LOOP;
  END LOOP;
  -- 2. Constraints by name: keys and checks first, so that every foreign key finds its target.
  FOR r IN SELECT c.conrelid::regclass AS rel, rt.relname AS tbl, c.conname, c.contype, pg_get_constraintdef(c.oid) AS def, ft.relname AS ref
             FROM pg_constraint c JOIN pg_class rt ON rt.oid = c.conrelid LEFT JOIN pg_class ft ON ft.oid = c.confrelid
            WHERE rt.relnamespace = 'public'::regnamespace AND rt.relname = ANY (tables) AND c.contype IN ('p', 'u', 'c', 'x', 'f')
              AND NOT EXISTS (SELECT FROM pg_constraint o WHERE o.conrelid = format('%I.%I', s, rt.relname)::regclass AND o.conname = c.conname)
            ORDER BY c.contype = 'f', rt.relname, c.conname LOOP
    def := r.def;
    IF r.contype = 'f' AND r.ref = ANY (tables) THEN
      def := replace(def, ' REFERENCES public.' || quote_ident(r.ref) || '(', format(' REFERENCES %I.%I(', s, r.ref));
    END IF;
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I ', s, r.tbl, r.conname) || def;
  END LOOP;
  FOREACH t IN ARRAY tables LOOP
    src := format('public.%I', t)::regclass;
    dst := format('%I.%I', s, t)::regclass;
    -- The pin: only this tenant's rows, whoever writes.
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = dst AND conname = 'tenant_schema_pin') THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT tenant_schema_pin CHECK (tenant_id = %L::uuid)', dst, p_tenant);
    END IF;
    -- 3. Indexes that back no constraint, by name (index names are per schema).
    FOR r IN SELECT ic.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = src
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = src)
                AND NOT EXISTS (SELECT FROM pg_class x WHERE x.relname = ic.relname AND x.relnamespace = s::regnamespace) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 4. Row level security: the same policies, by name.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', dst);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', dst);
    FOR r IN SELECT p.polname, p.polpermissive, p.polcmd, p.polroles,
                    pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS chk
               FROM pg_policy p
              WHERE p.polrelid = src AND NOT EXISTS (SELECT FROM pg_policy o WHERE o.polrelid = dst AND o.polname = p.polname) LOOP
      EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', r.polname, dst,
                     CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                     CASE r.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                     CASE WHEN r.polroles = '{0}' THEN 'PUBLIC'
                          ELSE (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid = ANY (r.polroles)) END)
        || coalesce(' USING (' || r.qual || ')', '') || coalesce(' WITH CHECK (' || r.chk || ')', '');
    END LOOP;
    -- 5. Triggers (chain, append-only, counters), by name.
    FOR r IN SELECT pg_get_triggerdef(g.oid) AS def FROM pg_trigger g
              WHERE g.tgrelid = src AND NOT g.tgisinternal
                AND NOT EXISTS (SELECT FROM pg_trigger o WHERE o.tgrelid = dst AND o.tgname = g.tgname) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 6. Exactly the app role's privileges on the shared table, table-wide and per column.
    FOR r IN SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = src AND a.grantee = 'fleetgate_app'::regrole LOOP
      EXECUTE format('GRANT %s ON %s TO fleetgate_app', r.privilege_type, dst);
    END LOOP;
    FOR r IN SELECT at.attname, a.privilege_type FROM pg_attribute at, aclexplode(at.attacl) a
              WHERE at.attrelid = src AND at.attacl IS NOT NULL AND a.grantee = 'fleetgate_app'::regrole LOOP
      EXECUTE format('GRANT %s (%I) ON %s TO fleetgate_app', r.privilege_type, r.attname, dst);
    END LOOP;
  END LOOP;
  RETURN s;
END
$$;
REVOKE EXECUTE ON FUNCTION sync_tenant_schema(uuid, text) FROM PUBLIC;

-- The gateway's one way to create a tenant schema: in an operator transaction, for an ENTERPRISE
-- tenant that the same transaction can see. SECURITY DEFINER because only the owner creates schemas;
-- the app role never gets CREATE on the database.
CREATE FUNCTION provision_tenant_schema(p_tenant uuid) RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'provision_tenant_schema: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT FROM public.tenants WHERE id = p_tenant AND plan = 'ENTERPRISE') THEN
    RAISE EXCEPTION 'provision_tenant_schema: no such enterprise tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN public.sync_tenant_schema(p_tenant);
END
$$;
REVOKE EXECUTE ON FUNCTION provision_tenant_schema(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION provision_tenant_schema(uuid) TO fleetgate_app;

-- The audit chain of a tenant lives in the schema the event is written to: the shared table for
-- standard tenants (unchanged, static SQL), the tenant's own schema for enterprise tenants.
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(7364202, hashtext(NEW.tenant_id::text));
  IF TG_TABLE_SCHEMA = 'public' THEN
    SELECT seq, hash INTO last_seq, last_hash FROM public.audit_events WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
      SELECT seq, hash INTO last_seq, last_hash FROM public.audit_checkpoints WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    END IF;
  ELSE
    EXECUTE format('SELECT seq, hash FROM %I.audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
      INTO last_seq, last_hash USING NEW.tenant_id;
    IF last_seq IS NULL THEN
      EXECUTE format('SELECT seq, hash FROM %I.audit_checkpoints WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO last_seq, last_hash USING NEW.tenant_id;
    END IF;
  END IF;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.created_at := clock_timestamp();
  NEW.hash := public.audit_event_hash(NEW.tenant_id, NEW.seq, NEW.id, NEW.created_at, NEW.actor_type, NEW.actor_id, NEW.action,
                               NEW.target_type, NEW.target_id, NEW.outcome, NEW.request_id, NEW.detail, NEW.prev_hash);
  RETURN NEW;
END
$$;

-- Backups read a tenant's rows through the app role, under its RLS setting and search_path, one
-- tenant table at a time: the app role may learn which tables those are (names only).
GRANT EXECUTE ON FUNCTION tenant_tables() TO fleetgate_app;
GRANT SELECT ON tenant_schema_exclusions TO fleetgate_app;

-- Restores one tenant's backup (p_data: {"<table>": [rows as jsonb]}) into an empty schema of that
-- tenant: its own (tenant_<id>, after a loss) or a new one beside it (tenant_<id>_restore_<suffix>),
-- created here. Operators only, through the gateway, which decrypted the archive; the rows keep
-- their ids, times and audit chain exactly (user triggers are off for the copy, so the chain is
-- not re-stamped), every row must belong to p_tenant (the schema pin refuses anything else), and a
-- table that already holds rows is refused rather than merged. Tables are filled parents first.
CREATE FUNCTION restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  own text := public.tenant_schema_name(p_tenant);
  remaining name[] := ARRAY(SELECT public.tenant_tables());
  t name;
  progressed boolean;
  restored jsonb := '{}'::jsonb;
  n bigint;
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
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.%I SELECT * FROM jsonb_populate_recordset(NULL::%I.%I, $1)', p_schema, t, p_schema, t)
        USING coalesce(p_data -> t, '[]'::jsonb);
      GET DIAGNOSTICS n = ROW_COUNT;
      EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
      restored := restored || jsonb_build_object(t, n);
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
  RETURN restored;
END
$$;
REVOKE EXECUTE ON FUNCTION restore_tenant_rows(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION restore_tenant_rows(uuid, text, jsonb) TO fleetgate_app;

-- Moving a standard tenant's audit log out of the shared tables is the one other way its events
-- and checkpoints may leave them: upgrade_tenant_to_enterprise() marks its own transaction with the
-- tenant it moves (after copying and verifying every row). The app role has no DELETE privilege on
-- either table, so the marker is of no use to it.
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
DECLARE
  allowed text := coalesce(current_setting('fleetgate.audit_drop', true), '');
  moving text := coalesce(current_setting('fleetgate.tenant_move', true), '');
BEGIN
  IF TG_TABLE_NAME = 'audit_events' AND TG_OP = 'DELETE' AND allowed <> ''
     AND split_part(allowed, ':', 1) = OLD.tenant_id::text AND OLD.seq <= split_part(allowed, ':', 2)::bigint THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'DELETE' AND TG_TABLE_SCHEMA = 'public' AND moving <> '' AND moving = OLD.tenant_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

-- No row of an enterprise tenant is written to a shared table. Besides catching a misrouted write,
-- this is what makes the move safe while the tenant is live: FOR KEY SHARE waits for a move in
-- progress (it holds the tenant row FOR UPDATE) and then sees the new plan, so a write that raced
-- the move is refused instead of landing behind it. The foreign key to tenants takes the same lock,
-- so standard tenants pay one index lookup. In a tenant schema (where sync copies it) it does nothing.
CREATE FUNCTION tenant_rows_stay_in_their_tier() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF TG_TABLE_SCHEMA = 'public'
     AND EXISTS (SELECT FROM public.tenants WHERE id = NEW.tenant_id AND plan = 'ENTERPRISE' FOR KEY SHARE) THEN
    RAISE EXCEPTION 'tenant % keeps its rows in its own schema', NEW.tenant_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION tenant_rows_stay_in_their_tier() FROM PUBLIC;

-- Puts that guard on every shared tenant table, present and future (migrate() calls it after each run).
CREATE FUNCTION ensure_tier_guards() RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE t name;
BEGIN
  FOR t IN SELECT public.tenant_tables() LOOP
    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = format('public.%I', t)::regclass AND tgname = 'tenant_rows_stay_in_their_tier') THEN
      EXECUTE format('CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.%I '
                     'FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier()', t);
    END IF;
  END LOOP;
END
$$;
SELECT ensure_tier_guards();

-- Counts and an order-independent checksum of one tenant's rows in one table.
CREATE FUNCTION tenant_table_digest(p_schema text, p_table text, p_tenant uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE d jsonb;
BEGIN
  EXECUTE format('SELECT jsonb_build_object(''rows'', count(*), ''md5'', md5(coalesce(string_agg(to_jsonb(x)::text, ''|'' ORDER BY to_jsonb(x)::text), ''''))) '
                 'FROM %I.%I x WHERE tenant_id = $1', p_schema, p_table) INTO d USING p_tenant;
  RETURN d;
END
$$;

-- Upgrades a STANDARD tenant to ENTERPRISE: its schema is created, every row of every tenant table
-- is copied into it (ids, times and the audit chain as they are: user triggers off for the copy),
-- counts and checksums are compared table by table, and only then are the shared rows deleted and
-- the plan changed. One transaction: a process that dies halfway leaves nothing behind (Postgres
-- rolls it back) and the upgrade can simply run again. Readers go on reading the shared rows until
-- the commit switches them over; writers of this tenant wait for the commit and are then refused
-- by tenant_rows_stay_in_their_tier(), so no write is lost behind the move. Operators only.
CREATE FUNCTION upgrade_tenant_to_enterprise(p_tenant uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s text := public.tenant_schema_name(p_tenant);
  tables name[] := ARRAY(SELECT public.tenant_tables());
  ordered name[] := '{}';
  remaining name[] := tables;
  t name;
  i integer;
  cols text;
  src jsonb;
  dst jsonb;
  report jsonb := '{}'::jsonb;
  current_plan text;
  previous_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  SELECT plan INTO current_plan FROM public.tenants WHERE id = p_tenant FOR UPDATE;
  IF current_plan IS DISTINCT FROM 'STANDARD' THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: not a standard tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: schema % already exists', s USING ERRCODE = 'duplicate_schema';
  END IF;
  PERFORM public.sync_tenant_schema(p_tenant);
  -- Parents before children.
  WHILE cardinality(remaining) > 0 LOOP
    i := cardinality(ordered);
    FOREACH t IN ARRAY remaining LOOP
      CONTINUE WHEN EXISTS (
        SELECT FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'f' AND f.relname <> t AND f.relname = ANY (remaining));
      ordered := ordered || t;
      remaining := array_remove(remaining, t);
    END LOOP;
    IF cardinality(ordered) = i THEN
      RAISE EXCEPTION 'upgrade_tenant_to_enterprise: foreign keys form a cycle among %', remaining;
    END IF;
  END LOOP;
  FOREACH t IN ARRAY ordered LOOP
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = format('%I.%I', s, t)::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', s, t);
    EXECUTE format('INSERT INTO %I.%I (%s) SELECT %s FROM public.%I WHERE tenant_id = $1', s, t, cols, cols, t) USING p_tenant;
    EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', s, t);
    src := public.tenant_table_digest('public', t, p_tenant);
    dst := public.tenant_table_digest(s, t, p_tenant);
    IF src IS DISTINCT FROM dst THEN
      RAISE EXCEPTION 'upgrade_tenant_to_enterprise: % differs after the copy (% vs %)', t, src, dst;
    END IF;
    report := report || jsonb_build_object(t, src);
  END LOOP;
  -- Verified: the shared rows go, children first.
  PERFORM set_config('fleetgate.tenant_move', p_tenant::text, true);
  FOR i IN REVERSE cardinality(ordered)..1 LOOP
    EXECUTE format('DELETE FROM public.%I WHERE tenant_id = $1', ordered[i]) USING p_tenant;
  END LOOP;
  PERFORM set_config('fleetgate.tenant_move', '', true);
  EXECUTE format('UPDATE public.tenants SET plan = ''ENTERPRISE'', user_count = (SELECT count(*) FROM %I.users), '
                 'agent_count = (SELECT count(*) FROM %I.agents) WHERE id = $1', s, s) USING p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN report;
END
$$;
REVOKE EXECUTE ON FUNCTION upgrade_tenant_to_enterprise(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION upgrade_tenant_to_enterprise(uuid) TO fleetgate_app;

-- The reconciler's list of agents that should run, now across every tenant schema as well (ids only,
-- as before). The owner-only policy agents_runtime_select is copied into tenant schemas by sync.
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
