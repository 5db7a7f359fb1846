-- Trusted documents as a product (issue 18): client apps and their versioned manifests of operations
-- (hash -> document), published through the API or `npm run documents:publish`, run by hash.
--
-- Two kinds of apps:
--  * a tenant's own apps (client_apps, client_app_versions): the tenant's data like any other tenant
--    table (tenant_id in every key, RLS forced, the standard policies). They are NOT excluded from the
--    enterprise tier: an enterprise tenant's apps live in its own schema (sync_tenant_schema copies
--    them), are in its backups and go with its erasure, and a request finds them through its search
--    path alone. Nothing needs to read them across tenants: the gateway looks a hash up under the
--    requesting tenant's own settings, so no cross-tenant function exists for them.
--  * platform apps (platform_client_apps, platform_client_app_versions): the gateway's own console
--    and operations every tenant may run. Operators' metadata like platform_oidc_connections: no
--    tenant's rows, written and read in operator transactions only (the gateway's document registry
--    reads them as an operator; tenants never read the table).
--
-- A version's documents are one jsonb object {"sha256:<hex>": "<document>"} exactly as the client
-- preset writes them; the gateway checks every document and its hash before the row is written.
-- Retiring a version (retired_at) stops its hashes on every replica within a second: the triggers
-- below NOTIFY fleetgate_documents with the tenant id (or 'platform'), and each replica drops its
-- cached lookups for it (src/modules/documents/document-registry.ts).

-- Keys carry tenant_id (test/citus-ready.test.ts): the primary key is (id, tenant_id).
CREATE TABLE client_apps (
  id          uuid NOT NULL,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, tenant_id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE client_app_versions (
  id            uuid NOT NULL,
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  app_id        uuid NOT NULL,
  version       text NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$'),
  documents     jsonb NOT NULL CHECK (jsonb_typeof(documents) = 'object'),
  published_by  text NOT NULL CHECK (length(published_by) <= 200),
  published_at  timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz,
  PRIMARY KEY (id, tenant_id),
  UNIQUE (tenant_id, app_id, version),
  FOREIGN KEY (app_id, tenant_id) REFERENCES client_apps (id, tenant_id) ON DELETE CASCADE
);

CALL enable_tenant_rls('client_apps', 'client_app_versions');
-- Published versions are immutable: only retired_at changes (a retired hash stays retired).
GRANT SELECT, INSERT ON client_apps, client_app_versions TO fleetgate_app;
GRANT UPDATE (retired_at) ON client_app_versions TO fleetgate_app;

CREATE TABLE platform_client_apps (
  id          uuid PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform_client_app_versions (
  id            uuid PRIMARY KEY,
  app_id        uuid NOT NULL REFERENCES platform_client_apps (id) ON DELETE CASCADE,
  version       text NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$'),
  documents     jsonb NOT NULL CHECK (jsonb_typeof(documents) = 'object'),
  published_by  text NOT NULL CHECK (length(published_by) <= 200),
  published_at  timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz,
  UNIQUE (app_id, version)
);

ALTER TABLE platform_client_apps ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_client_apps FORCE ROW LEVEL SECURITY;
ALTER TABLE platform_client_app_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_client_app_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_client_apps_operator ON platform_client_apps FOR ALL TO fleetgate_app
  USING (app_is_operator()) WITH CHECK (app_is_operator());
CREATE POLICY platform_client_app_versions_operator ON platform_client_app_versions FOR ALL TO fleetgate_app
  USING (app_is_operator()) WITH CHECK (app_is_operator());
GRANT SELECT, INSERT ON platform_client_apps, platform_client_app_versions TO fleetgate_app;
GRANT UPDATE (retired_at) ON platform_client_app_versions TO fleetgate_app;

-- The change feed of the per-replica hash caches. The functions' live bodies are in
-- migrations/functions/documents.sql; they are created here for the triggers to name (migrations/README.md).
CREATE OR REPLACE FUNCTION client_app_versions_notify() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', coalesce(NEW.tenant_id, OLD.tenant_id)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER client_app_versions_notify AFTER INSERT OR UPDATE OR DELETE ON client_app_versions
  FOR EACH ROW EXECUTE FUNCTION client_app_versions_notify();

CREATE OR REPLACE FUNCTION platform_client_app_versions_notify() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', 'platform');
  RETURN NULL;
END
$$;
CREATE TRIGGER platform_client_app_versions_notify AFTER INSERT OR UPDATE OR DELETE ON platform_client_app_versions
  FOR EACH ROW EXECUTE FUNCTION platform_client_app_versions_notify();

-- Binding a credential to one app: an API key or a session bound to app X runs only X's published
-- documents (by name: the tenant's own app of that name, else the platform app). NULL: not bound.
ALTER TABLE api_keys ADD COLUMN client_app text CHECK (client_app ~ '^[a-z0-9][a-z0-9._-]{0,62}$');
ALTER TABLE user_sessions ADD COLUMN client_app text CHECK (client_app ~ '^[a-z0-9][a-z0-9._-]{0,62}$');
