-- Data residency (issue 8): the gateway holds one database per region, and a tenant lives entirely
-- in its region's database — its tenants row, its rows in the shared tables (standard tier) or in
-- its own schema (enterprise tier), its jobs and its audit chain. No row of it is written anywhere
-- else, so there is nothing to keep in step across regions.
--
-- Each database knows which region it is. migrate() names the region in the session setting
-- fleetgate.region; the first migration records it here and every later migrate() checks that it
-- still matches (src/db/migrate.ts), so a configuration that points region A at region B's
-- database stops the gateway instead of writing A's tenants into B.
CREATE TABLE region_identity (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  name     text NOT NULL CHECK (name ~ '^[a-z]{2}-[0-9]$')
);
-- Fails the migration when migrate() did not name the region (current_setting without missing_ok).
INSERT INTO region_identity (name) VALUES (current_setting('fleetgate.region'));

CREATE FUNCTION database_region() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT name FROM public.region_identity $$;

-- Region names are not secret: the app role reads this database's own.
GRANT SELECT ON region_identity TO fleetgate_app;
GRANT EXECUTE ON FUNCTION database_region() TO fleetgate_app;

-- Every tenant row already here is of this database's region (the column's old default, eu-1, was
-- a placeholder: there was one database).
UPDATE tenants SET region = database_region() WHERE region IS DISTINCT FROM database_region();
ALTER TABLE tenants ALTER COLUMN region SET DEFAULT database_region();

-- The pin: a tenant row of another region is refused here, whoever writes (the owner included),
-- and a tenant never changes region by an UPDATE (moving one is a backup and a restore elsewhere).
CREATE FUNCTION tenants_region_pin() RETURNS trigger
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
CREATE TRIGGER tenants_region_pin BEFORE INSERT OR UPDATE OF region ON tenants
  FOR EACH ROW EXECUTE FUNCTION tenants_region_pin();
