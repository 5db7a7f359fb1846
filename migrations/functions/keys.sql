-- KEK rotation: a KEK version is retired only when no stored data key is wrapped under it
-- (src/modules/credentials/key-rotation.ts). Each holder of wrapped data keys (credentials, memory
-- keys, sharing keys, the memory key mirror) has an owner-only listing that returns ids only, across
-- the shared tables and every tenant schema; each key is then rewrapped under its own tenant's setting.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The KEK version of a wrapped key, read from the wrapped form itself (`local:v3:…`, `vault:v3:…`),
-- so no writer can record a wrong one.
CREATE OR REPLACE FUNCTION wrapped_key_version(p_wrapped text) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT substring(p_wrapped FROM '^[a-z]+:v([0-9]+):')::integer $$;
GRANT EXECUTE ON FUNCTION wrapped_key_version(text) TO fleetgate_app;

-- Credentials whose data key is wrapped under a KEK version below p_version: ids and tenant ids only.
CREATE OR REPLACE FUNCTION credentials_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (credential_id uuid, credential_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT c.id, c.tenant_id FROM public.agent_credentials c WHERE c.key_version < p_version ORDER BY c.key_version, c.id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT id, tenant_id FROM %I.agent_credentials WHERE key_version < $1 ORDER BY key_version, id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION credentials_below_key_version(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credentials_below_key_version(integer, integer) TO fleetgate_app;

CREATE OR REPLACE FUNCTION credentials_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_credentials WHERE key_version < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_credentials WHERE key_version < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;
REVOKE EXECUTE ON FUNCTION credentials_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credentials_count_below_key_version(integer) TO fleetgate_app;

-- Agent memory keys below p_version: agent and tenant ids only.
CREATE OR REPLACE FUNCTION memory_keys_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_agent_id uuid, key_tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT k.agent_id, k.tenant_id FROM public.agent_memory_keys k WHERE public.wrapped_key_version(k.wrapped_key) < p_version ORDER BY k.agent_id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT agent_id, tenant_id FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1 ORDER BY agent_id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION memory_keys_below_key_version(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_keys_below_key_version(integer, integer) TO fleetgate_app;

CREATE OR REPLACE FUNCTION memory_keys_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$$;
REVOKE EXECUTE ON FUNCTION memory_keys_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_keys_count_below_key_version(integer) TO fleetgate_app;

-- Tenant sharing keys below p_version: tenant ids only.
CREATE OR REPLACE FUNCTION sharing_keys_below_key_version(p_version integer, p_limit integer)
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
REVOKE EXECUTE ON FUNCTION sharing_keys_below_key_version(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sharing_keys_below_key_version(integer, integer) TO fleetgate_app;

CREATE OR REPLACE FUNCTION sharing_keys_count_below_key_version(p_version integer)
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
REVOKE EXECUTE ON FUNCTION sharing_keys_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sharing_keys_count_below_key_version(integer) TO fleetgate_app;

-- The live key mirror is a holder of its own: a mirror row whose key table was lost and not brought
-- back follows nothing, yet it is the only key that opens that agent's rows in newer backups. Its
-- rows below p_version are listed with their wrapped keys (a wrapped key opens nothing without the key
-- provider) and rewrapped by the gateway through rewrap_memory_escrow (the app role has no privilege
-- on the table itself).
CREATE OR REPLACE FUNCTION memory_escrow_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_agent_id uuid, key_wrapped text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$ SELECT agent_id, wrapped_key FROM public.memory_key_escrow
        WHERE public.wrapped_key_version(wrapped_key) < p_version ORDER BY agent_id LIMIT p_limit $$;
REVOKE EXECUTE ON FUNCTION memory_escrow_below_key_version(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_escrow_below_key_version(integer, integer) TO fleetgate_app;

CREATE OR REPLACE FUNCTION memory_escrow_count_below_key_version(p_version integer) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$ SELECT count(*) FROM public.memory_key_escrow WHERE public.wrapped_key_version(wrapped_key) < p_version $$;
REVOKE EXECUTE ON FUNCTION memory_escrow_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_escrow_count_below_key_version(integer) TO fleetgate_app;

-- One mirror row's new wrapping: only by a newer version, and only while the row still holds the
-- wrapping the gateway rewrapped (a concurrent rewrap of its key table, or the key's destruction,
-- wins: nothing is resurrected). True when it was replaced.
CREATE OR REPLACE FUNCTION rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) RETURNS boolean
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF NOT coalesce(public.wrapped_key_version(p_new) > public.wrapped_key_version(p_old), false) THEN
    RAISE EXCEPTION 'rewrap_memory_escrow: not a newer wrapping' USING ERRCODE = 'data_exception';
  END IF;
  UPDATE public.memory_key_escrow SET wrapped_key = p_new WHERE agent_id = p_agent AND wrapped_key = p_old;
  RETURN FOUND;
END
$$;
REVOKE EXECUTE ON FUNCTION rewrap_memory_escrow(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rewrap_memory_escrow(uuid, text, text) TO fleetgate_app;
