-- Trusted documents: the change feed of the per-replica hash caches (src/modules/documents/document-registry.ts).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- A statement-level payload would not say whose apps changed; the row's tenant (or 'platform') is
-- all a replica needs to drop its cached lookups. Sent at commit, never for a rollback.
CREATE OR REPLACE FUNCTION client_app_versions_notify() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', coalesce(NEW.tenant_id, OLD.tenant_id)::text);
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION client_app_versions_notify() FROM PUBLIC;

CREATE OR REPLACE FUNCTION platform_client_app_versions_notify() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', 'platform');
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION platform_client_app_versions_notify() FROM PUBLIC;
