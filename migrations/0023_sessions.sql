-- People come and go: user sessions with rotating refresh tokens, one-time sign-in links, OpenID
-- Connect connections, and member states. A user's access token is short-lived and names its
-- session and the user's token version; every request checks both in the statement that opens its
-- transaction (enter_user_request below), so removing a member, changing a role, suspending a user
-- or revoking a session takes effect on the very next request on every replica.

-- A member is ACTIVE or SUSPENDED. token_version is the version every access token of the user
-- carries: a role or status change bumps it (the trigger below, whoever makes the change, even by
-- hand in SQL), so tokens minted before the change stop working at once.
ALTER TABLE users
  ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED')),
  ADD COLUMN token_version integer NOT NULL DEFAULT 1;

CREATE FUNCTION users_bump_token_version() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF NEW.role IS DISTINCT FROM OLD.role OR NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.token_version := OLD.token_version + 1;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER users_bump_token_version BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_bump_token_version();

-- A removed member's row goes; the API keys an owner keeps and the support grants it issued are then
-- recorded as the remover's (src/modules/users/member-lifecycle.service.ts).
GRANT UPDATE (granted_by) ON support_grants TO fleetgate_app;

-- One row per signed-in device. The refresh tokens of a session (its family) are in
-- session_refresh_tokens; a revoked or expired session refreshes no more, and its access tokens
-- stop working at once (enter_user_request).
CREATE TABLE user_sessions (
  id             uuid PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  user_id        uuid NOT NULL,
  device_label   text NOT NULL CHECK (length(device_label) BETWEEN 1 AND 100),
  -- How the session was opened: SIGN_UP, SIGN_IN_LINK, OIDC.
  method         text NOT NULL CHECK (method IN ('SIGN_UP', 'SIGN_IN_LINK', 'OIDC')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text CHECK (length(revoked_reason) <= 200),
  UNIQUE (id, tenant_id),
  FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX user_sessions_user ON user_sessions (tenant_id, user_id);

-- Every refresh token a session has been given, by the SHA-256 of its 256-bit secret. Using one
-- marks it used and issues the next; presenting a used one again is reuse (a stolen token, or a
-- stolen successor) and revokes the whole session (OAuth 2.0 Security BCP, refresh token rotation).
CREATE TABLE session_refresh_tokens (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  session_id  uuid NOT NULL,
  token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  used_at     timestamptz,
  PRIMARY KEY (tenant_id, token_hash),
  FOREIGN KEY (session_id, tenant_id) REFERENCES user_sessions (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX session_refresh_tokens_session ON session_refresh_tokens (tenant_id, session_id);

-- One-time sign-in links: minted by an owner or admin for a member (or by an operator for an owner),
-- shown once, stored as the SHA-256 of the secret, short-lived, used at most once.
CREATE TABLE sign_in_links (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  user_id     uuid NOT NULL,
  secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  UNIQUE (id, tenant_id),
  FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);

-- A tenant's OpenID Connect connection: which issuer and client id sign its members in, for which
-- email domains, and how a claim maps to a role. Configuration only (no secret: the gateway only
-- verifies ID tokens against the issuer's published keys).
CREATE TABLE oidc_connections (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  issuer          text NOT NULL CHECK (issuer ~ '^https?://' AND length(issuer) <= 500),
  client_id       text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 200),
  allowed_domains text[] NOT NULL CHECK (cardinality(allowed_domains) BETWEEN 1 AND 50),
  -- A claim whose value maps to a role ({"claim": "groups", "map": {"admins": "ADMIN"}}); absent: no mapping.
  role_claim      text CHECK (length(role_claim) BETWEEN 1 AND 100),
  role_mapping    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(role_mapping) = 'object'),
  -- Just-in-time membership: an unknown subject of an allowed domain joins with this role. NULL: refused.
  jit_role        text CHECK (jit_role IN ('ADMIN', 'MEMBER', 'VIEWER')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, tenant_id),
  UNIQUE (tenant_id, issuer, client_id)
);

-- Which member an (issuer, subject) is, within one tenant. Keyed by issuer, not by connection: the
-- connections table is shared by every tier (below) while identities live in the tenant's own tier.
CREATE TABLE oidc_identities (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  issuer      text NOT NULL CHECK (length(issuer) <= 500),
  subject     text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  user_id     uuid NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, issuer, subject),
  FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) ON DELETE CASCADE
);

-- ID tokens that have opened a session, by SHA-256, until they expire: an ID token signs in once,
-- so a replayed one opens no second session.
CREATE TABLE oidc_token_uses (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, token_hash)
);

CALL enable_tenant_rls('user_sessions', 'session_refresh_tokens', 'sign_in_links', 'oidc_connections', 'oidc_identities', 'oidc_token_uses');
GRANT SELECT, INSERT, UPDATE, DELETE ON user_sessions, session_refresh_tokens, sign_in_links, oidc_connections, oidc_identities, oidc_token_uses
  TO fleetgate_app;

-- Sign-in must find the tenants that trust an issuer before any tenant is known. Connections stay in
-- the shared table for every tier (configuration, no personal data), and this function, the only
-- way across tenants, returns the connections of one issuer and client id: nothing about members.
INSERT INTO tenant_schema_exclusions VALUES
  ('oidc_connections', 'sign-in finds the tenants that trust an issuer before any tenant is known (oidc_connections_of); '
                       'configuration only: issuer, client id, domains, role mapping');
CREATE FUNCTION oidc_connections_of(p_issuer text, p_client_ids text[])
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
-- The definer (the owner role) reads connections under FORCE RLS: it needs a policy of its own.
CREATE POLICY oidc_connections_sign_in ON oidc_connections FOR SELECT TO fleetgate_owner USING (true);

-- The platform's own OpenID Connect connections (operators register them), for standard-tier tenants
-- that have no identity provider of their own: a verified email signs its owner in to the standard
-- tenants where an owner or admin added that email as a member (never just in time: no tenant to
-- join). Platform metadata like the tenants table: operator transactions only.
CREATE TABLE platform_oidc_connections (
  id              uuid PRIMARY KEY,
  issuer          text NOT NULL CHECK (issuer ~ '^https?://' AND length(issuer) <= 500),
  client_id       text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 200),
  -- Email domains admitted, or '*' for any verified email (membership is still required).
  allowed_domains text[] NOT NULL CHECK (cardinality(allowed_domains) BETWEEN 1 AND 50),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (issuer, client_id)
);
ALTER TABLE platform_oidc_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_oidc_connections FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_oidc_connections_operator ON platform_oidc_connections FOR ALL TO fleetgate_app
  USING (app_is_operator()) WITH CHECK (app_is_operator());
CREATE POLICY platform_oidc_connections_sign_in ON platform_oidc_connections FOR SELECT TO fleetgate_owner USING (true);
GRANT SELECT, INSERT, DELETE ON platform_oidc_connections TO fleetgate_app;

CREATE FUNCTION platform_oidc_connections_of(p_issuer text, p_client_ids text[])
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
-- holds standard tenants' members only (enterprise tenants keep theirs in their own schema, the tier
-- guard of 0008): enterprise tenants sign in through their own connections.
CREATE FUNCTION platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text)
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
CREATE POLICY users_platform_sign_in ON users FOR SELECT TO fleetgate_owner USING (true);
CREATE POLICY oidc_identities_platform_sign_in ON oidc_identities FOR SELECT TO fleetgate_owner USING (true);

-- First statement of a user's request transaction: sets the request's transaction-local settings
-- (tenant and search_path, exactly what forkForPrincipal's session variables set) and then, under
-- them, answers whether the user is still an ACTIVE member at the token's version and, when the
-- token names a session, that session is neither revoked nor expired. Removal (the row is gone),
-- a role change or suspension (the version moved) and session revocation end the token at once.
-- SECURITY INVOKER: the lookup runs as the app role under the settings just made (RLS applies), and
-- an enterprise tenant's users are found through its search_path (static SQL: the plan cache
-- re-plans when search_path differs, see enter_agent_request).
CREATE FUNCTION enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid)
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true);
  RETURN EXISTS (SELECT 1 FROM users u
                  WHERE u.id = p_user_id AND u.tenant_id = p_tenant_id AND u.status = 'ACTIVE' AND u.token_version = p_version)
     AND (p_session_id IS NULL
          OR EXISTS (SELECT 1 FROM user_sessions s
                      WHERE s.id = p_session_id AND s.tenant_id = p_tenant_id AND s.user_id = p_user_id
                        AND s.revoked_at IS NULL AND s.expires_at > now()));
END
$$;
REVOKE EXECUTE ON FUNCTION enter_user_request(uuid, uuid, text, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION enter_user_request(uuid, uuid, text, integer, uuid) TO fleetgate_app;
