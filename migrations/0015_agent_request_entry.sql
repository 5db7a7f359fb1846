-- An agent's request opens with ONE statement instead of a transaction of its own for the token
-- check followed by the request's `set_config` (src/db/use-request-transaction.ts): this function
-- sets the request's transaction-local settings (tenant, search_path, agent: exactly what
-- forkForPrincipal's session variables set) and then, under them, checks that the agent still
-- exists in that tenant and still holds the token's generation. Stop, a new container start and
-- deletion revoke at once, as before; the check and the request now share one transaction, so the
-- answer cannot change between them.
--
-- SECURITY INVOKER (the default): the lookup runs as the app role under the settings just made, so
-- RLS applies to it like to any request query, and an enterprise tenant's `agents` is found through
-- its search_path. The lookup is dynamic SQL so that no plan cached by an earlier call on the same
-- pooled connection (under another tenant's search_path) is reused.
CREATE FUNCTION enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
DECLARE
  live boolean;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true),
          set_config('app.agent_id', p_agent_id::text, true);
  EXECUTE 'SELECT EXISTS (SELECT 1 FROM agents WHERE id = $1 AND tenant_id = $2 AND token_generation = $3)'
    INTO live USING p_agent_id, p_tenant_id, p_generation;
  RETURN live;
END
$$;
REVOKE EXECUTE ON FUNCTION enter_agent_request(uuid, uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enter_agent_request(uuid, uuid, text, integer) TO fleetgate_app;
