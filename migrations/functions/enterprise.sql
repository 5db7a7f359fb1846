-- The enterprise tier: a dedicated schema per tenant, `tenant_<id without dashes>`, holding its own copy
-- of every tenant-owned table. Requests reach it through a transaction-local search_path
-- (`tenant_<id>, public`, see src/db/request-scope.ts), so the same unqualified SQL serves both tiers.
--
-- The tenant tables are discovered from the catalog, never listed: every table in public that has a
-- tenant_id column and forced row level security, except those in tenant_schema_exclusions.
-- sync_tenant_schema() brings a schema in line with the shared tables (migrate() runs it for every
-- tenant schema after each run), so a shared migration flows into every tenant schema.
--
-- Walls inside a tenant schema, each holding alone: the same RLS policies as the shared table; a CHECK
-- constraint (tenant_schema_pin) pinning tenant_id to the schema's tenant, whoever writes; the ORM
-- tenant filter. A request for tenant A that names tenant B's schema reads nothing and writes nothing.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The schema of an enterprise tenant.
CREATE OR REPLACE FUNCTION tenant_schema_name(p_tenant uuid) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 'tenant_' || replace(p_tenant::text, '-', '') $$;

-- Every enterprise tenant's schema, for the owner's cross-tenant listings.
CREATE OR REPLACE FUNCTION tenant_schemas() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT nspname FROM pg_namespace WHERE nspname ~ '^tenant_[0-9a-f]{32}$' ORDER BY nspname $$;
REVOKE EXECUTE ON FUNCTION tenant_schemas() FROM PUBLIC;

-- Where a tenant's rows live: its own schema when ENTERPRISE, else public. Read from tenants.plan,
-- never from the caller's search_path, so a transaction cannot point a deletion at another table.
CREATE OR REPLACE FUNCTION tenant_data_schema(p_tenant uuid) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN plan = 'ENTERPRISE' THEN public.tenant_schema_name(id) ELSE 'public' END FROM public.tenants WHERE id = p_tenant $$;
REVOKE EXECUTE ON FUNCTION tenant_data_schema(uuid) FROM PUBLIC;

-- The tenant-owned tables of public, found in the catalog (see the header). Backups read them through
-- the app role, one at a time, so it may learn their names.
CREATE OR REPLACE FUNCTION tenant_tables() RETURNS SETOF name
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity AND c.relforcerowsecurity
     AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     AND c.relname NOT IN (SELECT table_name FROM public.tenant_schema_exclusions)
   ORDER BY c.relname
$$;
GRANT EXECUTE ON FUNCTION tenant_tables() TO fleetgate_app;

-- The tenant tables (tenant_tables()) ordered parents first by their foreign keys among them: rows
-- are copied in this order and deleted in the reverse one. The one ordering for every function that
-- moves a tenant's rows: upgrade_tenant_to_enterprise, restore_tenant_rows and erase_tenant_rows.
CREATE OR REPLACE FUNCTION tenant_tables_in_fk_order() RETURNS name[]
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  remaining name[] := ARRAY(SELECT public.tenant_tables());
  ordered name[] := '{}';
  t name;
  placed integer;
BEGIN
  WHILE cardinality(remaining) > 0 LOOP
    placed := cardinality(ordered);
    FOREACH t IN ARRAY remaining LOOP
      CONTINUE WHEN EXISTS (
        SELECT FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'f' AND f.relname <> t AND f.relname = ANY (remaining));
      ordered := ordered || t;
      remaining := array_remove(remaining, t);
    END LOOP;
    IF cardinality(ordered) = placed THEN
      RAISE EXCEPTION 'tenant_tables_in_fk_order: foreign keys form a cycle among %', remaining;
    END IF;
  END LOOP;
  RETURN ordered;
END
$$;
REVOKE EXECUTE ON FUNCTION tenant_tables_in_fk_order() FROM PUBLIC;

-- Brings one tenant's schema in line with the shared tables, by name:
--  * columns: missing ones added, extra ones dropped, type (cast with USING), default and NOT NULL;
--  * constraints, indexes, policies and triggers: missing ones added, ones the shared table no longer
--    has dropped (the schema's own tenant_schema_pin stays), ones whose definition changed recreated;
--  * the app role's privileges, table-wide and per column: granted as on the shared table, anything
--    else revoked (from any role but the owner).
-- Each step compares before it changes, so a schema already in shape is left untouched (idempotent).
-- A change the tenant's own rows cannot take (SET NOT NULL over a NULL, a cast that fails) raises:
-- migrate() rolls that schema back, logs and reports it, and goes on with the others.
-- search_path is pg_catalog alone so that pg_get_*def() qualify every name (public.users), which the
-- rewrites rely on. p_schema: another schema for the same tenant (a restore to inspect beside the live
-- one); its pin is the same tenant.
CREATE OR REPLACE FUNCTION sync_tenant_schema(p_tenant uuid, p_schema text DEFAULT NULL) RETURNS text
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s text := coalesce(p_schema, public.tenant_schema_name(p_tenant));
  tables name[] := ARRAY(SELECT public.tenant_tables());
  t name;
  src regclass;
  dst regclass;
  r record;
  blocking record;
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
    -- Columns the shared table dropped (with what depends on them there too: indexes, constraints).
    FOR r IN SELECT b.attname FROM pg_attribute b
              WHERE b.attrelid = dst AND b.attnum > 0 AND NOT b.attisdropped
                AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = src AND a.attname = b.attname AND NOT a.attisdropped) LOOP
      EXECUTE format('ALTER TABLE %s DROP COLUMN %I CASCADE', dst, r.attname);
    END LOOP;
    -- Type, default and NOT NULL of the columns both have.
    FOR r IN SELECT a.attname, b.attnum AS dnum, a.attgenerated <> '' AS generated,
                    format_type(a.atttypid, a.atttypmod) AS typ, format_type(b.atttypid, b.atttypmod) AS dtyp,
                    a.attnotnull AS notnull, b.attnotnull AS dnotnull,
                    pg_get_expr(d.adbin, d.adrelid) AS dflt, pg_get_expr(e.adbin, e.adrelid) AS ddflt
               FROM pg_attribute a
               JOIN pg_attribute b ON b.attrelid = dst AND b.attname = a.attname AND NOT b.attisdropped
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_attrdef e ON e.adrelid = b.attrelid AND e.adnum = b.attnum
              WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum LOOP
      def := r.ddflt;
      IF r.typ IS DISTINCT FROM r.dtyp THEN
        -- A policy that reads the column blocks the change; it is dropped here and recreated in step 4.
        FOR blocking IN SELECT pol.polname FROM pg_policy pol JOIN pg_depend dep ON dep.classid = 'pg_policy'::regclass AND dep.objid = pol.oid
                  WHERE pol.polrelid = dst AND dep.refobjid = dst AND dep.refobjsubid = r.dnum LOOP
          EXECUTE format('DROP POLICY %I ON %s', blocking.polname, dst);
        END LOOP;
        IF def IS NOT NULL AND NOT r.generated THEN
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', dst, r.attname);
          def := NULL;
        END IF;
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s USING %I::%s', dst, r.attname, r.typ, r.attname, r.typ);
      END IF;
      IF NOT r.generated AND def IS DISTINCT FROM r.dflt THEN
        IF r.dflt IS NULL THEN
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', dst, r.attname);
        ELSE
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT ', dst, r.attname) || r.dflt;
        END IF;
      END IF;
      IF r.notnull AND NOT r.dnotnull THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', dst, r.attname);
      ELSIF r.dnotnull AND NOT r.notnull THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', dst, r.attname);
      END IF;
    END LOOP;
  END LOOP;
  -- 2. Constraints by name: the ones the shared tables dropped go (the pin stays), then keys and
  -- checks are added, so that every foreign key finds its target.
  FOR r IN SELECT c.conname, rt.relname AS tbl FROM pg_constraint c JOIN pg_class rt ON rt.oid = c.conrelid
            WHERE rt.relnamespace = s::regnamespace AND rt.relname = ANY (tables) AND c.contype IN ('p', 'u', 'c', 'x', 'f')
              AND c.conname <> 'tenant_schema_pin'
              AND NOT EXISTS (SELECT FROM pg_constraint o LEFT JOIN pg_class ft ON ft.oid = o.confrelid
                               WHERE o.conrelid = format('public.%I', rt.relname)::regclass AND o.conname = c.conname AND o.contype = c.contype
                                 AND pg_get_constraintdef(c.oid) = CASE WHEN o.contype = 'f' AND ft.relname = ANY (tables)
                                   THEN replace(pg_get_constraintdef(o.oid), ' REFERENCES public.' || quote_ident(ft.relname) || '(', format(' REFERENCES %I.%I(', s, ft.relname))
                                   ELSE pg_get_constraintdef(o.oid) END)
            ORDER BY c.contype <> 'f' LOOP
    EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT IF EXISTS %I CASCADE', s, r.tbl, r.conname);
  END LOOP;
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
    -- 3. Indexes that back no constraint, by name (index names are per schema): extra ones go, missing ones come.
    FOR r IN SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = dst
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = dst)
                AND NOT EXISTS (SELECT FROM pg_index si JOIN pg_class sc ON sc.oid = si.indexrelid
                                 WHERE si.indrelid = src AND sc.relname = ic.relname
                                   AND replace(pg_get_indexdef(si.indexrelid), ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst))
                                       = pg_get_indexdef(i.indexrelid)) LOOP
      EXECUTE format('DROP INDEX %I.%I', s, r.relname);
    END LOOP;
    FOR r IN SELECT ic.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = src
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = src)
                AND NOT EXISTS (SELECT FROM pg_class x WHERE x.relname = ic.relname AND x.relnamespace = s::regnamespace) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 4. Row level security: the same policies, by name; one the shared table dropped or changed goes first.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', dst);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', dst);
    FOR r IN SELECT o.polname FROM pg_policy o
              WHERE o.polrelid = dst
                AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = src AND p.polname = o.polname
                                  AND p.polpermissive = o.polpermissive AND p.polcmd = o.polcmd AND p.polroles = o.polroles
                                  AND pg_get_expr(p.polqual, p.polrelid) IS NOT DISTINCT FROM pg_get_expr(o.polqual, o.polrelid)
                                  AND pg_get_expr(p.polwithcheck, p.polrelid) IS NOT DISTINCT FROM pg_get_expr(o.polwithcheck, o.polrelid)) LOOP
      EXECUTE format('DROP POLICY %I ON %s', r.polname, dst);
    END LOOP;
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
    -- 5. Triggers (chain, append-only, counters), by name: extra ones go, missing ones come.
    FOR r IN SELECT o.tgname FROM pg_trigger o
              WHERE o.tgrelid = dst AND NOT o.tgisinternal
                AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = src AND g.tgname = o.tgname AND NOT g.tgisinternal
                                   AND replace(pg_get_triggerdef(g.oid), ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst))
                                       = pg_get_triggerdef(o.oid)) LOOP
      EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, dst);
    END LOOP;
    FOR r IN SELECT pg_get_triggerdef(g.oid) AS def FROM pg_trigger g
              WHERE g.tgrelid = src AND NOT g.tgisinternal
                AND NOT EXISTS (SELECT FROM pg_trigger o WHERE o.tgrelid = dst AND o.tgname = g.tgname) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 6. Exactly the app role's privileges on the shared table, table-wide and per column; whatever
    -- else the tenant table grants, to anyone but its owner, is revoked.
    FOR r IN SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = src AND a.grantee = 'fleetgate_app'::regrole
                AND NOT has_table_privilege('fleetgate_app', dst, a.privilege_type) LOOP
      EXECUTE format('GRANT %s ON %s TO fleetgate_app', r.privilege_type, dst);
    END LOOP;
    FOR r IN SELECT at.attname, a.privilege_type FROM pg_attribute at, aclexplode(at.attacl) a
              WHERE at.attrelid = src AND at.attacl IS NOT NULL AND NOT at.attisdropped AND a.grantee = 'fleetgate_app'::regrole
                AND NOT EXISTS (SELECT FROM pg_attribute dt, aclexplode(dt.attacl) da
                                 WHERE dt.attrelid = dst AND dt.attname = at.attname AND dt.attacl IS NOT NULL
                                   AND da.grantee = a.grantee AND da.privilege_type = a.privilege_type) LOOP
      EXECUTE format('GRANT %s (%I) ON %s TO fleetgate_app', r.privilege_type, r.attname, dst);
    END LOOP;
    FOR r IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = dst AND a.grantee <> c.relowner
                AND NOT (a.grantee = 'fleetgate_app'::regrole
                         AND EXISTS (SELECT FROM pg_class sc, aclexplode(sc.relacl) sa
                                      WHERE sc.oid = src AND sa.grantee = a.grantee AND sa.privilege_type = a.privilege_type)) LOOP
      EXECUTE format('REVOKE %s ON %s FROM %s', r.privilege_type, dst,
                     CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
    END LOOP;
    FOR r IN SELECT dt.attname, a.grantee, a.privilege_type FROM pg_class c JOIN pg_attribute dt ON dt.attrelid = c.oid, aclexplode(dt.attacl) a
              WHERE c.oid = dst AND dt.attacl IS NOT NULL AND NOT dt.attisdropped AND a.grantee <> c.relowner
                AND NOT (a.grantee = 'fleetgate_app'::regrole
                         AND EXISTS (SELECT FROM pg_attribute st, aclexplode(st.attacl) sa
                                      WHERE st.attrelid = src AND st.attname = dt.attname AND st.attacl IS NOT NULL
                                        AND sa.grantee = a.grantee AND sa.privilege_type = a.privilege_type)) LOOP
      EXECUTE format('REVOKE %s (%I) ON %s FROM %s', r.privilege_type, r.attname, dst,
                     CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
    END LOOP;
  END LOOP;
  RETURN s;
END
$$;
REVOKE EXECUTE ON FUNCTION sync_tenant_schema(uuid, text) FROM PUBLIC;

-- The gateway's one way to create a tenant schema: in an operator transaction, for an ENTERPRISE
-- tenant that the same transaction can see. SECURITY DEFINER because only the owner creates schemas;
-- the app role never gets CREATE on the database.
CREATE OR REPLACE FUNCTION provision_tenant_schema(p_tenant uuid) RETURNS text
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

-- No row of an enterprise tenant is written to a shared table. Besides catching a misrouted write,
-- this is what makes the move safe while the tenant is live: the tenant row is locked FOR KEY SHARE
-- first (waiting for a move in progress, which holds it FOR UPDATE) and only then is its plan read, so
-- a write that raced the move is refused instead of landing in the shared table behind it. (Reading
-- the plan inside the locking subquery saw the old plan and took no lock: a regression test guards
-- it.) In a tenant schema, where sync copies the trigger, it does nothing.
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
REVOKE EXECUTE ON FUNCTION tenant_rows_stay_in_their_tier() FROM PUBLIC;

-- Puts that guard on every shared tenant table, present and future (migrate() calls it after each run).
CREATE OR REPLACE FUNCTION ensure_tier_guards() RETURNS void
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

-- Counts and an order-independent checksum of one tenant's rows in one table.
CREATE OR REPLACE FUNCTION tenant_table_digest(p_schema text, p_table text, p_tenant uuid) RETURNS jsonb
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
-- is copied into it parents first (ids, times and the audit chain as they are: user triggers off for
-- the copy), counts and checksums are compared table by table, and only then are the shared rows
-- deleted (children first) and the plan changed. One transaction: a process that dies halfway leaves
-- nothing behind and the upgrade can simply run again. Readers go on reading the shared rows until the
-- commit switches them over; writers of this tenant wait for the commit and are then refused by
-- tenant_rows_stay_in_their_tier(), so no write is lost behind the move. Operators only.
CREATE OR REPLACE FUNCTION upgrade_tenant_to_enterprise(p_tenant uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  s text := public.tenant_schema_name(p_tenant);
  ordered name[];
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
  ordered := public.tenant_tables_in_fk_order();
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
