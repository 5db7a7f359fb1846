-- Retention policies per tenant, on both tiers (issue 8): audit events, the memory purge window
-- (0007, already tier-aware since 0011) and task history. Every deletion runs under the tenant's own
-- setting and in the tier that holds its rows: the shared tables for a STANDARD tenant, its own
-- schema (tenant_<id>) for an ENTERPRISE tenant. Which one is read from tenants.plan, never from the
-- caller's search_path, so a transaction cannot point a deletion at another table.

-- Where a tenant's rows live.
CREATE FUNCTION tenant_data_schema(p_tenant uuid) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN plan = 'ENTERPRISE' THEN public.tenant_schema_name(id) ELSE 'public' END FROM public.tenants WHERE id = p_tenant $$;
REVOKE EXECUTE ON FUNCTION tenant_data_schema(uuid) FROM PUBLIC;

-- Audit retention on both tiers. Same rules as 0002 (the transaction's own tenant, a checkpoint at
-- exactly p_seq holding that event's hash, every dropped event older than the tenant's retention),
-- now in the schema that holds the tenant's chain: before, an enterprise tenant's checkpoint (written
-- into its schema) was looked for in public.audit_checkpoints and retention always refused.
CREATE OR REPLACE FUNCTION audit_drop_through(p_tenant uuid, p_seq bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  s text;
  checkpoint_hash bytea;
  event_hash bytea;
  retention integer;
  too_young boolean;
  dropped bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'audit_drop_through: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'audit_drop_through: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE format('SELECT hash FROM %I.audit_checkpoints WHERE tenant_id = $1 AND seq = $2', s) INTO checkpoint_hash USING p_tenant, p_seq;
  EXECUTE format('SELECT hash FROM %I.audit_events WHERE tenant_id = $1 AND seq = $2', s) INTO event_hash USING p_tenant, p_seq;
  IF checkpoint_hash IS NULL OR event_hash IS DISTINCT FROM checkpoint_hash THEN
    RAISE EXCEPTION 'audit_drop_through: no checkpoint at seq % matching the chain', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT audit_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('SELECT EXISTS (SELECT FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2
                  AND created_at >= now() - make_interval(days => $3))', s) INTO too_young USING p_tenant, p_seq, retention;
  IF too_young THEN
    RAISE EXCEPTION 'audit_drop_through: events up to seq % are within retention', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('fleetgate.audit_drop', p_tenant::text || ':' || p_seq::text, true);
  EXECUTE format('DELETE FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2', s) USING p_tenant, p_seq;
  GET DIAGNOSTICS dropped = ROW_COUNT;
  PERFORM set_config('fleetgate.audit_drop', '', true);
  RETURN dropped;
END
$$;

-- Task history: finished tasks (SUCCEEDED, FAILED, TIMED_OUT) and their results are deleted once
-- they are older than the tenant's task_retention_days. Owners set it, like the other two.
ALTER TABLE tenants ADD COLUMN task_retention_days integer NOT NULL DEFAULT 90
  CHECK (task_retention_days BETWEEN 1 AND 3650);
GRANT UPDATE (task_retention_days) ON tenants TO fleetgate_app;

-- A tenant may change its own settings (audit, memory and task retention) and nothing else.
CREATE OR REPLACE FUNCTION tenants_guard_columns() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NOT app_is_operator()
     AND (to_jsonb(NEW) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days')
         IS DISTINCT FROM (to_jsonb(OLD) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days') THEN
    RAISE EXCEPTION 'only operators change a tenant''s lifecycle, limits and quotas' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;

-- The purge's scan, per tier (sync_tenant_schema copies it into tenant schemas).
CREATE INDEX tasks_finished ON tasks (tenant_id, finished_at) WHERE status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT');

-- Owner-only (a NOLOGIN role), for task_history_tenants() below: finished tasks only, so not even
-- that function can see a queued or running task of any tenant.
CREATE POLICY tasks_history_select ON tasks FOR SELECT TO fleetgate_owner USING (status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT'));

-- The tenants with finished tasks past their retention, across the shared table and every tenant
-- schema: tenant ids only. Called in an operator transaction (tenants' settings are visible to it).
CREATE FUNCTION task_history_tenants()
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'task_history_tenants: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY SELECT DISTINCT t.tenant_id FROM public.tasks t JOIN public.tenants n ON n.id = t.tenant_id
    WHERE t.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
      AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days);
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT DISTINCT t.tenant_id FROM %I.tasks t JOIN public.tenants n ON n.id = t.tenant_id
      WHERE t.status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
        AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days)', s);
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION task_history_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION task_history_tenants() TO fleetgate_app;

-- The only way tasks leave: deletes the current tenant's finished tasks older than its retention, in
-- the tier that holds them, and returns how many. The app role has no DELETE on tasks, and nothing
-- the caller passes widens what is deleted (no clock, no status, no schema): a queued or running
-- task is never deleted, whatever its age.
CREATE FUNCTION purge_task_history(p_tenant uuid) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  s text;
  retention integer;
  deleted bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'purge_task_history: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'purge_task_history: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT task_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('DELETE FROM %I.tasks WHERE tenant_id = $1 AND status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
                  AND coalesce(finished_at, created_at) < now() - make_interval(days => $2)', s) USING p_tenant, retention;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$$;
REVOKE EXECUTE ON FUNCTION purge_task_history(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_task_history(uuid) TO fleetgate_app;

-- Schema sync that converges. sync_tenant_schema() (0008) only added what a tenant schema lacked, so
-- a shared migration that dropped a column, changed a type, a default or NOT NULL, revoked a grant or
-- dropped or changed a policy left every enterprise schema behind, silently: a revoked privilege
-- stayed granted in each tenant schema, a dropped policy stayed in force there. Now every tenant
-- table is made to match its shared table, by name, for:
--  * columns: missing ones added, extra ones dropped, type (cast with USING), default and NOT NULL;
--  * constraints, indexes, policies and triggers: missing ones added, ones the shared table no longer
--    has dropped (the schema's own tenant_schema_pin stays), ones whose definition changed recreated;
--  * the app role's privileges, table-wide and per column: granted as on the shared table, anything
--    else revoked (from any role but the owner).
-- Each step compares before it changes, so a schema already in shape is left untouched (idempotent).
-- A change the tenant's own rows cannot take (SET NOT NULL over a NULL, a cast that fails) raises:
-- migrate() rolls that schema back, logs and reports it, and goes on with the others.
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
