-- One round trip for a user's read (issue 24). The lean read path (src/db/lean-read.ts) pipelines
-- BEGIN, this entry, the page query and COMMIT as named prepared statements in one write. A read
-- cannot wait for the entry's answer before sending its query, so the entry refuses by raising:
-- Postgres then aborts the transaction and the pipelined page query after it runs nothing (25P02),
-- so not a row is read under a token that is no longer live. The check itself is enter_user_request
-- (migrations/0023_sessions.sql), unchanged: same settings, same liveness conditions.
-- SECURITY INVOKER, as enter_user_request: the app role's lookup under RLS.
CREATE FUNCTION enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  IF NOT public.enter_user_request(p_tenant_id, p_user_id, p_search_path, p_version, p_session_id) THEN
    RAISE EXCEPTION 'token is not live' USING ERRCODE = 'FGL01';
  END IF;
  RETURN true;
END
$$;
REVOKE EXECUTE ON FUNCTION enter_user_read(uuid, uuid, text, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enter_user_read(uuid, uuid, text, integer, uuid) TO fleetgate_app;
