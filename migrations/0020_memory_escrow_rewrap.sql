-- KEK rotation reaches the live key mirror itself (issue 5). A live key's mirror row follows its key
-- table when that table is rewrapped (memory_key_escrow_follow, 0012/0019). A mirror row whose key
-- table was lost and not brought back (a SAME restore of a backup older than the agent) follows
-- nothing, yet it is the only key that opens that agent's rows in newer backups: had the old KEK
-- version been retired, they would have become unreadable for good. So the mirror is a holder of its
-- own: every row below a version is counted, and rewrapped by the gateway through the two functions
-- below (the app role still has no privilege on the table itself).

-- Ids and wrapped keys below p_version (a wrapped key opens nothing without the key provider).
CREATE FUNCTION memory_escrow_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (key_agent_id uuid, key_wrapped text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$ SELECT agent_id, wrapped_key FROM public.memory_key_escrow
        WHERE public.wrapped_key_version(wrapped_key) < p_version ORDER BY agent_id LIMIT p_limit $$;

CREATE FUNCTION memory_escrow_count_below_key_version(p_version integer) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$ SELECT count(*) FROM public.memory_key_escrow WHERE public.wrapped_key_version(wrapped_key) < p_version $$;

-- One mirror row's new wrapping: only by a newer version, and only while the row still holds the
-- wrapping the gateway rewrapped (a concurrent rewrap of its key table, or the key's destruction,
-- wins: nothing is resurrected). True when it was replaced.
CREATE FUNCTION rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) RETURNS boolean
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

REVOKE EXECUTE ON FUNCTION memory_escrow_below_key_version(integer, integer), memory_escrow_count_below_key_version(integer),
  rewrap_memory_escrow(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION memory_escrow_below_key_version(integer, integer), memory_escrow_count_below_key_version(integer),
  rewrap_memory_escrow(uuid, text, text) TO fleetgate_app;
