-- Cluster-wide roles, applied before every migration run by the administrative connection.
-- Idempotent: roles are shared by every database on the server (tests create many databases).
--
-- fleetgate_owner  owns every table and function; NOLOGIN, so nobody connects as it. Migrations
--                  run under `SET ROLE fleetgate_owner`. FORCE ROW LEVEL SECURITY applies to it too.
-- fleetgate_app    the gateway's login role: not superuser, not BYPASSRLS, owns nothing, and has
--                  only the table privileges granted in the numbered migrations.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleetgate_owner') THEN
    CREATE ROLE fleetgate_owner NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fleetgate_app') THEN
    CREATE ROLE fleetgate_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END
$$;

-- Lets a non-superuser administrator (CREATEROLE) switch to the owner role to run migrations.
GRANT fleetgate_owner TO CURRENT_USER;
