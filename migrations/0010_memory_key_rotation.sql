-- KEK rotation covers agent memory too: a KEK version is retired only when no stored data key is
-- wrapped under it (src/modules/credentials/key-rotation.ts), so memory data keys must be listed
-- and rewrapped like credential data keys. Their version is read from the wrapped form itself
-- (`local:v3:…`, `vault:v3:…`), so no writer can record a wrong one. (One key row per agent: a scan
-- is cheap, and no column is added that tenant schemas would have to follow.)
CREATE FUNCTION wrapped_key_version(p_wrapped text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT substring(p_wrapped FROM '^[a-z]+:v([0-9]+):')::integer $$;
GRANT EXECUTE ON FUNCTION wrapped_key_version(text) TO fleetgate_app;

-- Owner-only (a NOLOGIN role), for the two SECURITY DEFINER functions below, which return ids only.
CREATE POLICY agent_memory_keys_rewrap_select ON agent_memory_keys FOR SELECT TO fleetgate_owner USING (true);

CREATE FUNCTION memory_keys_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_agent_id uuid, key_tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT agent_id, tenant_id FROM agent_memory_keys WHERE wrapped_key_version(wrapped_key) < p_version ORDER BY agent_id LIMIT p_limit $$;

CREATE FUNCTION memory_keys_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT count(*) FROM agent_memory_keys WHERE wrapped_key_version(wrapped_key) < p_version $$;

-- The rewrap replaces the wrapped key in place, under the key's own tenant (RLS), and nothing else.
GRANT UPDATE (wrapped_key) ON agent_memory_keys TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION memory_keys_below_key_version(integer, integer), memory_keys_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_keys_below_key_version(integer, integer), memory_keys_count_below_key_version(integer) TO fleetgate_app;
