-- The database wall (RLS): who the transaction is, and the procedures that put the tenant and agent
-- policies on a table. Numbered migrations CALL the procedures when they add a table.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The current request's tenant, or NULL when none is set. nullif() matters: a transaction-local
-- setting that expired reads back as '' (not NULL) on a pooled connection, and ''::uuid raises.
CREATE OR REPLACE FUNCTION app_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION app_current_tenant() TO fleetgate_app;

-- True only when the gateway authenticated an operator for this transaction. Operators read tenant
-- metadata (the tenants table) and nothing else: no other policy mentions this function.
CREATE OR REPLACE FUNCTION app_is_operator() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(nullif(current_setting('app.operator', true), ''), 'off') = 'on' $$;
GRANT EXECUTE ON FUNCTION app_is_operator() TO fleetgate_app;

-- The current request's agent, or NULL when the principal is not an agent. nullif() as for tenants.
CREATE OR REPLACE FUNCTION app_current_agent() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.agent_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION app_current_agent() TO fleetgate_app;

-- The tenant wall for one table, defined once: RLS enabled and forced, and one policy per command
-- keyed on the transaction-local tenant setting. Numbered migrations CALL it for every tenant table.
CREATE OR REPLACE PROCEDURE enable_tenant_rls(VARIADIC tables text[])
  LANGUAGE plpgsql SET search_path = pg_catalog, public
  AS $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (tenant_id = app_current_tenant())', t || '_select', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (tenant_id = app_current_tenant())', t || '_insert', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t || '_update', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (tenant_id = app_current_tenant())', t || '_delete', t);
  END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE enable_tenant_rls(text[]) FROM PUBLIC;

-- Tenant members only (no agent setting): rows an agent principal must never reach, or (select_cond)
-- reaches only for reading.
CREATE OR REPLACE PROCEDURE enable_members_only_rls(tbl text, select_cond text)
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

-- The agent wall on top of the tenant wall: when the gateway acts for an agent principal (app.agent_id
-- set), a row of a sibling agent matches no policy, for SELECT, INSERT, UPDATE and DELETE.
CREATE OR REPLACE PROCEDURE enable_agent_rls(VARIADIC tables text[])
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
