-- Agent memory: the purge of a deleted agent's rows, expiry, the live key mirror
-- (memory_key_escrow), and the single-statement reads and writes of an agent's memory.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- A deleted agent's memory is purged after its tenant's retention: the pending purge goes beside
-- the agent's table (the shared one, or the enterprise tenant's own schema). Moving a tenant into its
-- schema (upgrade_tenant_to_enterprise, marked by fleetgate.tenant_move) deletes the shared rows only
-- after copying them: those agents live on, so nothing is scheduled for them.
CREATE OR REPLACE FUNCTION agents_schedule_memory_purge() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
    RETURN NULL;
  END IF;
  EXECUTE format('INSERT INTO %I.memory_purges (agent_id, tenant_id, deleted_at, purge_after)
                  SELECT $1, $2, now(), now() + make_interval(days => t.memory_retention_days)
                    FROM public.tenants t WHERE t.id = $2', TG_TABLE_SCHEMA)
    USING OLD.id, OLD.tenant_id;
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION agents_schedule_memory_purge() FROM PUBLIC;

-- The purge and expiry job must find due work without knowing the tenant (like claim_job): tenant ids
-- alone, across the shared tables and every tenant schema; the work runs under each tenant's setting.
CREATE OR REPLACE FUNCTION memory_maintenance_tenants(p_now timestamptz)
  RETURNS TABLE (tenant_id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT p.tenant_id FROM public.memory_purges p WHERE p.purge_after <= p_now
         UNION SELECT m.tenant_id FROM public.agent_memory m WHERE m.expires_at <= p_now;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT tenant_id FROM %I.memory_purges WHERE purge_after <= $1
                                 UNION SELECT tenant_id FROM %I.agent_memory WHERE expires_at <= $1', s, s) USING p_now;
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION memory_maintenance_tenants(timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_maintenance_tenants(timestamp with time zone) TO fleetgate_app;

-- Mirrors every live memory key row into memory_key_escrow, in the same transaction as the change:
-- inserted with the key, rewrapped with it, deleted with it (crypto-shredding reaches the mirror at
-- once). Follows agent_memory_keys in public and in the tenant's own schema (a schema restored beside
-- it is not live and is ignored). Moving a standard tenant into its schema deletes the shared key rows
-- after copying them (fleetgate.tenant_move): those keys live on, so the mirror keeps them. Dropping a
-- schema fires no trigger, which is the point: the mirror outlives the loss.
CREATE OR REPLACE FUNCTION memory_key_escrow_follow() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(OLD.tenant_id) THEN
      RETURN NULL;
    END IF;
    IF TG_TABLE_SCHEMA = 'public' AND coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
      RETURN NULL;
    END IF;
    DELETE FROM public.memory_key_escrow WHERE agent_id = OLD.agent_id AND tenant_id = OLD.tenant_id;
  ELSE
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(NEW.tenant_id) THEN
      RETURN NULL;
    END IF;
    INSERT INTO public.memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at, key_id)
    VALUES (NEW.agent_id, NEW.tenant_id, NEW.provider, NEW.wrapped_key, NEW.created_at, NEW.key_id)
    ON CONFLICT (agent_id, tenant_id) DO UPDATE SET provider = EXCLUDED.provider, wrapped_key = EXCLUDED.wrapped_key,
      created_at = EXCLUDED.created_at, key_id = EXCLUDED.key_id;
  END IF;
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION memory_key_escrow_follow() FROM PUBLIC;

-- Each statement of an agent's memory read and write is ONE function call that enters the agent's
-- request itself (enter_agent_request: the transaction-local settings, then the token's liveness under
-- them), so no statement depends on settings an earlier one made. On the agent's channel
-- (src/modules/memory/memory-channel.ts) each call is a transaction of its own: a read is one message
-- to the database, a write two (its context, the upsert).
--
-- Each returns a single row with live = false when the token is no longer live (nothing else is read
-- or written), and otherwise: the entry with the agent's wrapped data key it was sealed under (no row
-- when absent or expired); the tenant's value limit with the agent's wrapped key (null before its first
-- write); the agent's key, made by its first write (a concurrent first write loses the insert race and
-- gets the winner's); the upserted entry's id and creation time. Every query names the principal's
-- tenant and agent (wall 2, in SQL) and runs as the app role under RLS (wall 3): SECURITY INVOKER.
-- Static SQL, so each connection plans a statement once (dynamic SQL made a put cost Postgres about
-- 1.8× the CPU); a cached plan is re-planned when search_path differs (see enter_agent_request).
CREATE OR REPLACE FUNCTION agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text)
  RETURNS TABLE (live boolean, id uuid, tags text[], ciphertext bytea, expires_ms float8, created_ms float8, updated_ms float8,
                 wrapped_key text)
  LANGUAGE plpgsql VOLATILE
  AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY SELECT true, m.id, m.tags, m.ciphertext, extract(epoch from m.expires_at)::float8 * 1000,
            extract(epoch from m.created_at)::float8 * 1000, extract(epoch from m.updated_at)::float8 * 1000, k.wrapped_key
       FROM agent_memory m
       JOIN agent_memory_keys k ON k.tenant_id = m.tenant_id AND k.agent_id = m.agent_id AND k.key_id = m.key_id
      WHERE m.tenant_id = p_tenant_id AND m.agent_id = p_agent_id AND m.key = p_key AND (m.expires_at IS NULL OR m.expires_at > now());
END
$$;
REVOKE EXECUTE ON FUNCTION agent_memory_entry(uuid, uuid, text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_entry(uuid, uuid, text, integer, text) TO fleetgate_app;

CREATE OR REPLACE FUNCTION agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer)
  RETURNS TABLE (live boolean, max_value_bytes integer, wrapped_key text, key_id uuid)
  LANGUAGE plpgsql VOLATILE
  AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY SELECT true, t.memory_max_value_bytes, k.wrapped_key, k.key_id
       FROM tenants t LEFT JOIN agent_memory_keys k ON k.tenant_id = t.id AND k.agent_id = p_agent_id
      WHERE t.id = p_tenant_id;
END
$$;
REVOKE EXECUTE ON FUNCTION agent_memory_write_context(uuid, uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_write_context(uuid, uuid, text, integer) TO fleetgate_app;

CREATE OR REPLACE FUNCTION agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer,
                                        p_provider text, p_wrapped_key text)
  RETURNS TABLE (live boolean, wrapped_key text, key_id uuid)
  LANGUAGE plpgsql VOLATILE
  AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO agent_memory_keys (agent_id, tenant_id, provider, wrapped_key) VALUES (p_agent_id, p_tenant_id, p_provider, p_wrapped_key)
           ON CONFLICT (agent_id, tenant_id) DO NOTHING;
  RETURN QUERY SELECT true, k.wrapped_key, k.key_id FROM agent_memory_keys k WHERE k.tenant_id = p_tenant_id AND k.agent_id = p_agent_id;
END
$$;
REVOKE EXECUTE ON FUNCTION agent_memory_create_key(uuid, uuid, text, integer, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_create_key(uuid, uuid, text, integer, text, text) TO fleetgate_app;

-- p_tags is a JSON array of strings (the gateway's driver passes arrays as lists, not as one value).
CREATE OR REPLACE FUNCTION agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer,
                                    p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer,
                                    p_expires_at timestamptz, p_now timestamptz)
  RETURNS TABLE (live boolean, id uuid, created_ms float8)
  LANGUAGE plpgsql VOLATILE
  AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY INSERT INTO agent_memory AS m (id, tenant_id, agent_id, key, tags, ciphertext, key_id, size_bytes, expires_at, created_at, updated_at)
     VALUES (p_id, p_tenant_id, p_agent_id, p_key, ARRAY(SELECT jsonb_array_elements_text(p_tags)), p_ciphertext, p_key_id, p_size_bytes, p_expires_at, p_now, p_now)
     ON CONFLICT (tenant_id, agent_id, key) DO UPDATE SET tags = excluded.tags, ciphertext = excluded.ciphertext,
       key_id = excluded.key_id, size_bytes = excluded.size_bytes, expires_at = excluded.expires_at, updated_at = excluded.updated_at
     RETURNING true, m.id, extract(epoch from m.created_at)::float8 * 1000;
END
$$;
REVOKE EXECUTE ON FUNCTION agent_memory_upsert(uuid, uuid, text, integer, uuid, text, jsonb, bytea, uuid, integer, timestamp with time zone, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_upsert(uuid, uuid, text, integer, uuid, text, jsonb, bytea, uuid, integer, timestamp with time zone, timestamp with time zone) TO fleetgate_app;
