-- The isolated data plane: tenants, users, agents, API keys and a first audit table.
--
-- Every tenant-owned table carries tenant_id, has ROW LEVEL SECURITY enabled AND forced (so the
-- owner is bound too) and one policy per command with USING and WITH CHECK keyed on the
-- transaction-local setting app.tenant_id. An absent or empty setting matches no row.
-- Uniques and foreign keys include tenant_id so another tenant's row can neither be referenced
-- nor detected through a duplicate-key error.

-- The current request's tenant, or NULL when none is set. nullif() matters: a transaction-local
-- setting that expired reads back as '' (not NULL) on a pooled connection, and ''::uuid raises.
CREATE FUNCTION app_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- True only when the gateway authenticated an operator for this transaction. Operators read tenant
-- metadata (the tenants table) and nothing else: no other policy mentions this function.
CREATE FUNCTION app_is_operator() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT coalesce(nullif(current_setting('app.operator', true), ''), 'off') = 'on' $$;

CREATE TABLE tenants (
  id           uuid PRIMARY KEY,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  plan         text NOT NULL DEFAULT 'STANDARD' CHECK (plan IN ('STANDARD', 'ENTERPRISE')),
  region       text NOT NULL DEFAULT 'eu-1' CHECK (region ~ '^[a-z]{2}-[0-9]$'),
  status       text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'FROZEN')),
  user_count   integer NOT NULL DEFAULT 0,
  agent_count  integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role        text NOT NULL CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, tenant_id),
  UNIQUE (tenant_id, email)
);

CREATE TABLE agents (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  image        text NOT NULL CHECK (length(image) BETWEEN 1 AND 200),
  config       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(config) = 'object'),
  status       text NOT NULL DEFAULT 'CREATED',
  -- The actor that created it, as 'USER:<id>' or 'API_KEY:<id>'.
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, tenant_id),
  UNIQUE (tenant_id, name)
);
CREATE INDEX agents_tenant_page ON agents (tenant_id, id);

CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  -- SHA-256 of the key's 256-bit random secret; the secret itself is shown once and never stored.
  secret_hash   bytea NOT NULL CHECK (length(secret_hash) = 32),
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0),
  created_by    uuid NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  UNIQUE (id, tenant_id),
  FOREIGN KEY (created_by, tenant_id) REFERENCES users (id, tenant_id)
);
CREATE INDEX api_keys_tenant_page ON api_keys (tenant_id, id);

CREATE TABLE audit_events (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  actor_type   text NOT NULL,
  actor_id     text NOT NULL,
  action       text NOT NULL,
  target_type  text,
  target_id    text,
  outcome      text NOT NULL CHECK (outcome IN ('SUCCESS', 'DENIED', 'FAILED')),
  request_id   text,
  detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_tenant_page ON audit_events (tenant_id, id);

-- Row level security. Policies apply to every role (no TO clause) so FORCE binds the owner too.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_select ON tenants FOR SELECT USING (id = app_current_tenant() OR app_is_operator());
CREATE POLICY tenants_insert ON tenants FOR INSERT WITH CHECK (id = app_current_tenant());
CREATE POLICY tenants_update ON tenants FOR UPDATE USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
CREATE POLICY tenants_delete ON tenants FOR DELETE USING (id = app_current_tenant());

-- The tenant wall for one table, defined once: RLS enabled and forced, and one policy per command
-- keyed on the transaction-local tenant setting. Used by every migration that adds a tenant table.
CREATE PROCEDURE enable_tenant_rls(VARIADIC tables text[])
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

CALL enable_tenant_rls('users', 'agents', 'api_keys', 'audit_events');

-- Member and agent counts for operators, who may read tenants but no row inside them.
-- SECURITY DEFINER so the app role needs no UPDATE on tenants; it still runs under FORCE RLS with
-- the caller's app.tenant_id, so it can only touch the caller's own tenant row.
CREATE FUNCTION tenants_count_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  delta integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  row_tenant uuid := CASE TG_OP WHEN 'INSERT' THEN NEW.tenant_id ELSE OLD.tenant_id END;
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    UPDATE tenants SET user_count = user_count + delta WHERE id = row_tenant;
  ELSE
    UPDATE tenants SET agent_count = agent_count + delta WHERE id = row_tenant;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION tenants_count_rows();
CREATE TRIGGER agents_count AFTER INSERT OR DELETE ON agents FOR EACH ROW EXECUTE FUNCTION tenants_count_rows();

-- The gateway's privileges: exactly what its resolvers need, nothing it could use to own or alter.
-- tenants: no UPDATE/DELETE here (plan and status changes come with their own issues).
GRANT SELECT, INSERT ON tenants TO fleetgate_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, agents TO fleetgate_app;
GRANT SELECT, INSERT, UPDATE ON api_keys TO fleetgate_app;
-- The audit log is append-only for the gateway.
GRANT SELECT, INSERT ON audit_events TO fleetgate_app;
GRANT EXECUTE ON FUNCTION app_current_tenant(), app_is_operator() TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION tenants_count_rows() FROM PUBLIC;
