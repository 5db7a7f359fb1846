-- Issue 22: claim_job() ran with `SET search_path = public`. When pg_temp is not named, Postgres
-- searches it FIRST, so a temporary table `jobs` created by the app role shadowed the real one
-- inside the owner's function (the app role would have been handed ids of its own making).
-- Every SECURITY DEFINER function now names pg_temp last (test/security-definer.test.ts checks
-- the catalog, public and tenant schemas alike, and fails on any new function that does not).
ALTER FUNCTION claim_job(text, integer) SET search_path = pg_catalog, public, pg_temp;
