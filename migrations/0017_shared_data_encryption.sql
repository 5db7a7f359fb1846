-- Explicit sharing at rest (issue 5): handoff payloads and workspace files are encrypted like memory
-- values, AES-256-GCM in the gateway, under a data key per tenant (its "sharing key") wrapped by the
-- key provider, so a copy of the database alone reads none of them. One key per tenant, not per
-- agent: a handoff and a file are read by agents other than their writer, and an agent's RLS
-- setting reaches no other agent's memory key. Additional data binds each ciphertext to its tenant,
-- its kind and its row (src/modules/memory/sharing-keys.ts).
--
-- Rows written before this migration keep their plaintext column and are read as they are; every
-- new handoff and every file written from now on is sealed (the CHECKs: exactly one of the two).
CREATE TABLE tenant_sharing_keys (
  tenant_id   uuid PRIMARY KEY REFERENCES tenants (id),
  provider    text NOT NULL CHECK (provider IN ('local', 'vault')),
  wrapped_key text NOT NULL CHECK (length(wrapped_key) <= 1000),
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Every principal of the tenant reads it (members and agents alike); a rewrap replaces it in place.
CALL enable_tenant_rls('tenant_sharing_keys');
GRANT SELECT, INSERT ON tenant_sharing_keys TO fleetgate_app;
GRANT UPDATE (wrapped_key) ON tenant_sharing_keys TO fleetgate_app;

ALTER TABLE handoffs
  ADD COLUMN sealed_payload bytea CHECK (length(sealed_payload) BETWEEN 29 AND 1048576 + 28),
  ALTER COLUMN payload DROP NOT NULL,
  ADD CONSTRAINT handoffs_one_payload CHECK (num_nonnulls(payload, sealed_payload) = 1);
ALTER TABLE workspace_files
  ADD COLUMN sealed_content bytea CHECK (length(sealed_content) BETWEEN 28 AND 1048576 + 28),
  ALTER COLUMN content DROP NOT NULL,
  ADD CONSTRAINT workspace_files_one_content CHECK (num_nonnulls(content, sealed_content) = 1);

-- KEK rotation rewraps sharing keys like memory keys (0010, 0011): the owner-only listing below
-- returns tenant ids only, over the shared table and every tenant schema; each key is then
-- rewrapped under its own tenant's setting.
CREATE POLICY tenant_sharing_keys_rewrap_select ON tenant_sharing_keys FOR SELECT TO fleetgate_owner USING (true);

CREATE FUNCTION sharing_keys_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT k.tenant_id FROM public.tenant_sharing_keys k WHERE public.wrapped_key_version(k.wrapped_key) < p_version ORDER BY 1 LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT tenant_id FROM %I.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < $1 LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$$;

CREATE FUNCTION sharing_keys_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;
REVOKE EXECUTE ON FUNCTION sharing_keys_below_key_version(integer, integer), sharing_keys_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sharing_keys_below_key_version(integer, integer), sharing_keys_count_below_key_version(integer) TO fleetgate_app;
