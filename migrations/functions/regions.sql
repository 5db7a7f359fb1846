-- Data residency: the region this database serves (recorded once by migrate(), table
-- region_identity) and the pin that keeps tenants of other regions out.
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The region this database serves (region_identity, recorded by migrate()'s first run).
CREATE OR REPLACE FUNCTION database_region() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT name FROM public.region_identity $$;
GRANT EXECUTE ON FUNCTION database_region() TO fleetgate_app;

-- The pin: a tenant row of another region is refused here, whoever writes (the owner included),
-- and a tenant never changes region by an UPDATE (moving one is a backup and a restore elsewhere).
CREATE OR REPLACE FUNCTION tenants_region_pin() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF NEW.region IS DISTINCT FROM database_region() THEN
    RAISE EXCEPTION 'tenant of region % cannot be stored in the database of region %', NEW.region, database_region()
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
