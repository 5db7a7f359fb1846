-- People: user sessions, OpenID Connect sign-in across tenants, and a user request's entry (token and
-- session liveness, checked in the statement that opens the request's transaction).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- A role or status change bumps the user's token_version (whoever makes the change, even by hand in
-- SQL), so access tokens minted before it stop working at once.
CREATE OR REPLACE FUNCTION users_bump_token_version() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NEW.role IS DISTINCT FROM OLD.role OR NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.token_version := OLD.token_version + 1;
  END IF;
  RETURN NEW;
END
$$;

-- The user liveness feed (src/auth/token-liveness.ts): fired after a change that can end a user's
-- tokens (a users row whose token version moves or that goes; a session revoked, re-dated or deleted),
-- whoever makes it, it notifies `fleetgate_user_liveness` with the user's id; Postgres sends it at
-- commit, never for a rollback. The trigger's argument names the column holding the user's id.
CREATE OR REPLACE FUNCTION notify_user_liveness() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_user_liveness', to_jsonb(OLD) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION notify_user_liveness() FROM PUBLIC;

-- Sign-in must find the tenants that trust an issuer before any tenant is known. Connections stay in
-- the shared table for every tier (configuration, no personal data), and this function, the only way
-- across tenants, returns the connections of one issuer and client id: nothing about members.
CREATE OR REPLACE FUNCTION oidc_connections_of(p_issuer text, p_client_ids text[])
  RETURNS TABLE (id uuid, tenant_id uuid, client_id text, allowed_domains text[], role_claim text, role_mapping jsonb, jit_role text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
  SELECT c.id, c.tenant_id, c.client_id, c.allowed_domains, c.role_claim, c.role_mapping, c.jit_role
    FROM public.oidc_connections c
   WHERE c.issuer = p_issuer AND c.client_id = ANY (p_client_ids)
   ORDER BY c.tenant_id
$$;
REVOKE EXECUTE ON FUNCTION oidc_connections_of(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION oidc_connections_of(text, text[]) TO fleetgate_app;

-- The platform's own OpenID Connect connections (operators register them) of one issuer and client id.
CREATE OR REPLACE FUNCTION platform_oidc_connections_of(p_issuer text, p_client_ids text[])
  RETURNS TABLE (id uuid, client_id text, allowed_domains text[])
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
  SELECT c.id, c.client_id, c.allowed_domains FROM public.platform_oidc_connections c
   WHERE c.issuer = p_issuer AND c.client_id = ANY (p_client_ids) ORDER BY c.id
$$;
REVOKE EXECUTE ON FUNCTION platform_oidc_connections_of(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_oidc_connections_of(text, text[]) TO fleetgate_app;

-- The standard tenants where a person signing in through a platform connection is a member: by the
-- identity linked at an earlier sign-in, or by the (verified) email an owner or admin added. Tenant
-- ids only; the sign-in then continues inside that one tenant, under its RLS setting. public.users
-- holds standard tenants' members only (enterprise tenants keep theirs in their own schema,
-- tenant_rows_stay_in_their_tier): enterprise tenants sign in through their own connections.
CREATE OR REPLACE FUNCTION platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text)
  RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
  SELECT DISTINCT u.tenant_id FROM public.users u
   WHERE (u.email = p_email
          OR EXISTS (SELECT FROM public.oidc_identities i
                      WHERE i.tenant_id = u.tenant_id AND i.user_id = u.id AND i.issuer = p_issuer AND i.subject = p_subject))
   ORDER BY 1
$$;
REVOKE EXECUTE ON FUNCTION platform_oidc_member_tenants(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_oidc_member_tenants(text, text, text) TO fleetgate_app;

-- First statement of a user's request transaction: sets the request's transaction-local settings
-- (tenant and search_path, exactly what forkForPrincipal's session variables set) and then, under
-- them, answers whether the user is still an ACTIVE member at the token's version and, when the
-- token names a session, that session is neither revoked nor expired. Removal (the row is gone),
-- a role change or suspension (the version moved) and session revocation end the token at once.
-- SECURITY INVOKER: the lookup runs as the app role under the settings just made (RLS applies), and
-- an enterprise tenant's users are found through its search_path (static SQL: the plan cache
-- re-plans when search_path differs, see enter_agent_request).
-- A token without a session (a member's first token from addMember, the isolation canary's) takes
-- its own branch, not `p_session_id IS NULL OR EXISTS (…)` in one statement: a NULL there lets the
-- planner drop the session lookup from a custom plan, which then always looks cheaper than the
-- generic plan, so plpgsql planned the check afresh on every such call. pgbench on 10,000 tenants
-- (2026-12-05): a sessionless check took 77 µs in Postgres, planned every time, and takes 21 now;
-- a check with a session 34 before and 35 now (one statement more).
CREATE OR REPLACE FUNCTION enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true);
  IF NOT EXISTS (SELECT 1 FROM users u
                  WHERE u.id = p_user_id AND u.tenant_id = p_tenant_id AND u.status = 'ACTIVE' AND u.token_version = p_version) THEN
    RETURN false;
  END IF;
  IF p_session_id IS NULL THEN
    RETURN true;
  END IF;
  RETURN EXISTS (SELECT 1 FROM user_sessions s
                  WHERE s.id = p_session_id AND s.tenant_id = p_tenant_id AND s.user_id = p_user_id
                    AND s.revoked_at IS NULL AND s.expires_at > now());
END
$$;
REVOKE EXECUTE ON FUNCTION enter_user_request(uuid, uuid, text, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enter_user_request(uuid, uuid, text, integer, uuid) TO fleetgate_app;

-- One round trip for a user's read. The lean read path (src/db/lean-transaction.ts) pipelines BEGIN, this
-- entry, the page query and COMMIT as named prepared statements in one write. A read cannot wait for
-- the entry's answer before sending its query, so the entry refuses by raising: Postgres then aborts
-- the transaction and the pipelined page query after it runs nothing (25P02), so not a row is read
-- under a token that is no longer live. The check itself is enter_user_request: same settings, same
-- liveness conditions. SECURITY INVOKER, as enter_user_request: the app role's lookup under RLS.
CREATE OR REPLACE FUNCTION enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid)
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
