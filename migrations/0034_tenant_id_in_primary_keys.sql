-- Issue 20, Citus readiness: every tenant table's primary key carries tenant_id, the distribution
-- column (docs/scale-out.md, test/citus-ready.test.ts). Eighteen keys did not. Each becomes its old
-- columns followed by tenant_id, `(id, tenant_id)`, so a lookup by id alone still uses it as before.
-- Where the table had a unique `(id, tenant_id)` besides its key (the target of every composite
-- foreign key `(x_id, tenant_id)`), the new key replaces it: the foreign keys that used it are
-- dropped and added again, same names, same definitions, now resolved to the key. One index less per
-- such table to write.
--
-- Ids stay server-generated uuids, and the ORM keeps `id` as the entities' key (it does not generate
-- this DDL): a statement by id alone still finds one row, within the tenant the ORM filter and RLS
-- allow. Upserts whose conflict target was the old key name the new one (functions/memory.sql,
-- workspace grants).
--
-- Enterprise tenant schemas follow in the sync that runs after every migration: sync_tenant_schema
-- drops the constraints whose definition changed or that the shared table no longer has (foreign keys
-- that used them go with them, CASCADE) and adds the shared table's, keys before foreign keys.
--
-- Locks: each table is rewritten under ACCESS EXCLUSIVE for its index build (and its referencing
-- tables under SHARE ROW EXCLUSIVE while their foreign keys are validated again), all in this one
-- transaction. On a large installation build the new keys beforehand without blocking writes:
--   CREATE UNIQUE INDEX CONCURRENTLY <table>_pkey_0034 ON <table> (<key columns>, tenant_id);
-- and this migration takes that index as the key instead of building one (migrations/README.md).
DO $$
DECLARE
  t name;
  key record;
  twin name;
  prebuilt name;
  fk record;
  saved jsonb;
  columns text;
BEGIN
  FOREACH t IN ARRAY ARRAY['agent_credentials', 'agent_memory', 'agent_memory_keys', 'agents', 'api_keys', 'audit_events',
                           'handoffs', 'jobs', 'memory_key_escrow', 'memory_purges', 'oidc_connections', 'sign_in_links',
                           'support_grants', 'tasks', 'user_sessions', 'users', 'workspace_file_grants', 'workspace_files']::name[] LOOP
    SELECT c.conname, ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
                             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos) AS cols
      INTO key FROM pg_constraint c WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'p';
    CONTINUE WHEN 'tenant_id' = ANY (key.cols);
    columns := (SELECT string_agg(quote_ident(col), ', ') FROM unnest(key.cols || 'tenant_id'::name) AS col);
    -- The unique constraint on exactly the new key's columns, if the table has one.
    SELECT c.conname INTO twin FROM pg_constraint c
     WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'u'
       AND ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos) = key.cols || 'tenant_id'::name;
    -- Foreign keys that reference this table, from any schema: dropped now, added again below.
    saved := '[]';
    FOR fk IN SELECT c.conrelid::regclass AS rel, c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
               WHERE c.contype = 'f' AND c.confrelid = format('public.%I', t)::regclass ORDER BY 1::text, 2 LOOP
      saved := saved || jsonb_build_object('rel', fk.rel::text, 'name', fk.conname, 'def', fk.def);
      EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
    END LOOP;
    IF twin IS NOT NULL THEN
      EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', t, twin);
    END IF;
    prebuilt := (SELECT i.relname FROM pg_class i WHERE i.relname = t || '_pkey_0034' AND i.relnamespace = 'public'::regnamespace);
    IF prebuilt IS NULL THEN
      EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I, ADD CONSTRAINT %I PRIMARY KEY (%s)', t, key.conname, key.conname, columns);
    ELSE
      -- ADD ... USING INDEX checks that the index is unique and valid; its columns are checked here.
      IF pg_get_indexdef(format('public.%I', prebuilt)::regclass) NOT LIKE format('%% (%s)', columns) THEN
        RAISE EXCEPTION '0034: index % is not on (%)', prebuilt, columns;
      END IF;
      EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I, ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', t, key.conname, key.conname, prebuilt);
    END IF;
    FOR fk IN SELECT * FROM jsonb_to_recordset(saved) AS s(rel text, name text, def text) LOOP
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I ', fk.rel, fk.name) || fk.def;
    END LOOP;
  END LOOP;
END
$$;
