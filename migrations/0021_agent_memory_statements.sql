-- Each statement of an agent's memory read and write as ONE function call that enters the agent's
-- request itself (enter_agent_request, 0015: the transaction-local settings, then the token's
-- liveness under them), so no statement depends on settings an earlier one made. Inside a GraphQL
-- request's transaction the settings are already made and are made again with the same values; on
-- the agent's channel (src/modules/memory/memory-channel.ts) each call is a transaction of its own:
-- a read is one message to the database instead of four (`begin`, the entry, the read, `commit`),
-- a write two (its context, the upsert). On this machine every message costs the gateway a write
-- that wakes an idle backend, so messages are what a request pays for.
--
-- Each returns a single row with live = false when the token is no longer live (nothing else is
-- read or written), and otherwise what the gateway's statements did before: the entry with the
-- agent's wrapped data key it was sealed under (no row when absent or expired); the tenant's value
-- limit with the agent's wrapped key (null before its first write); the agent's key, made by its
-- first write (a concurrent first write loses the insert race and gets the winner's); the upserted
-- entry's id and creation time. Every query names the principal's tenant and agent (wall 2, in SQL)
-- and runs as the app role under RLS (wall 3): SECURITY INVOKER, the default.
--
-- Static SQL, so each connection plans a statement once rather than on every call (dynamic SQL made
-- a put cost Postgres about 1.8× the CPU of the same statements sent plainly). 0015 chose dynamic SQL
-- so that no plan made under one tenant's search_path is reused under another's; Postgres' plan
-- cache already guarantees that: a cached plan is re-planned when the current search_path differs
-- from the one it was planned under (checked by test/agent-request-entry.test.ts, a standard and an
-- enterprise agent on one connection). enter_agent_request goes static here too: it runs on every
-- agent request.
CREATE FUNCTION agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text)
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

CREATE FUNCTION agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer)
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

CREATE FUNCTION agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer,
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
           ON CONFLICT (agent_id) DO NOTHING;
  RETURN QUERY SELECT true, k.wrapped_key, k.key_id FROM agent_memory_keys k WHERE k.tenant_id = p_tenant_id AND k.agent_id = p_agent_id;
END
$$;
REVOKE EXECUTE ON FUNCTION agent_memory_create_key(uuid, uuid, text, integer, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_create_key(uuid, uuid, text, integer, text, text) TO fleetgate_app;

-- p_tags is a JSON array of strings (the gateway's driver passes arrays as lists, not as one value).
CREATE FUNCTION agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer,
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
REVOKE EXECUTE ON FUNCTION agent_memory_upsert(uuid, uuid, text, integer, uuid, text, jsonb, bytea, uuid, integer, timestamptz, timestamptz)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_memory_upsert(uuid, uuid, text, integer, uuid, text, jsonb, bytea, uuid, integer, timestamptz, timestamptz)
  TO fleetgate_app;

CREATE OR REPLACE FUNCTION enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true),
          set_config('app.agent_id', p_agent_id::text, true);
  RETURN EXISTS (SELECT 1 FROM agents a WHERE a.id = p_agent_id AND a.tenant_id = p_tenant_id AND a.token_generation = p_generation);
END
$$;
