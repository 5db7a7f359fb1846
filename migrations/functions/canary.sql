-- The isolation canary's history (isolation_canary_runs, migrations/0037): what a tenant may read of it.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- When and how each canary run of this database's replicas ended, and how long it took, for a
-- tenant's request (the gateway lets its owners and admins call it): no replica name and no reason,
-- which describe the platform's machines and its walls' weak points (operators read those from the
-- table itself, under their own policy). Nothing without a tenant setting. Ordered like the API's
-- list, newest first; `p_oldest_first` for a page before a cursor. Cursors are run ids, which are
-- time-ordered: `p_after` asks for older runs, `p_before` for newer ones.
CREATE OR REPLACE FUNCTION isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean)
  RETURNS TABLE (run_id uuid, run_ran_at timestamptz, run_outcome text, run_duration_ms integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF public.app_current_tenant() IS NULL THEN
    RETURN;
  END IF;
  IF p_oldest_first THEN
    RETURN QUERY SELECT r.id, r.ran_at, r.outcome, r.duration_ms FROM public.isolation_canary_runs r
      WHERE (p_after IS NULL OR r.id < p_after) AND (p_before IS NULL OR r.id > p_before)
      ORDER BY r.id LIMIT least(greatest(p_limit, 0), 101);
  ELSE
    RETURN QUERY SELECT r.id, r.ran_at, r.outcome, r.duration_ms FROM public.isolation_canary_runs r
      WHERE (p_after IS NULL OR r.id < p_after) AND (p_before IS NULL OR r.id > p_before)
      ORDER BY r.id DESC LIMIT least(greatest(p_limit, 0), 101);
  END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION isolation_canary_outcomes(uuid, uuid, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION isolation_canary_outcomes(uuid, uuid, integer, boolean) TO fleetgate_app;
