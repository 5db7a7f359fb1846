-- Per-agent credentials, envelope-encrypted (src/modules/credentials/envelope.ts).
--
-- A row holds only ciphertext: the value under a fresh AES-256-GCM data key (ciphertext || tag,
-- 96-bit nonce), that data key wrapped by a key-encryption key that lives outside the database
-- (the local keyring file or Vault Transit), the KEK version, and a short HMAC fingerprint keyed
-- by the data key. The AAD binds tenant, agent, credential id and version, so a row's ciphertext
-- copied into another row does not decrypt. A tenant row like any other: RLS enabled and forced,
-- a policy per command; the composite foreign key keeps a credential on an agent of its own tenant.

CREATE TABLE agent_credentials (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  agent_id     uuid NOT NULL,
  -- Also the environment variable's name inside the agent's process.
  name         text NOT NULL CHECK (name ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  ciphertext   bytea NOT NULL CHECK (length(ciphertext) BETWEEN 16 AND 32784),
  nonce        bytea NOT NULL CHECK (length(nonce) = 12),
  wrapped_key  text NOT NULL CHECK (length(wrapped_key) <= 1000),
  key_version  integer NOT NULL CHECK (key_version >= 1),
  fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  rotated_at   timestamptz,
  UNIQUE (id, tenant_id),
  UNIQUE (tenant_id, agent_id, name),
  FOREIGN KEY (agent_id, tenant_id) REFERENCES agents (id, tenant_id) ON DELETE CASCADE
);
-- The KEK rewrap finds rows by key version.
CREATE INDEX agent_credentials_key_version ON agent_credentials (key_version, id);

CALL enable_tenant_rls('agent_credentials');

-- KEK rotation must find every data key wrapped under an old version, in every tenant, without the
-- app role ever reading across tenants. As with claim_job(): a SECURITY DEFINER function owned by
-- the NOLOGIN owner returns ids and tenant ids only (never ciphertext or wrapped keys), and the
-- gateway then rewraps each row in a transaction under that row's tenant setting, with RLS.
CREATE POLICY agent_credentials_rewrap_select ON agent_credentials FOR SELECT TO fleetgate_owner USING (true);

CREATE FUNCTION credentials_below_key_version(p_version integer, p_limit integer)
  RETURNS TABLE (credential_id uuid, credential_tenant_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT id, tenant_id FROM agent_credentials WHERE key_version < p_version ORDER BY key_version, id LIMIT p_limit $$;

CREATE FUNCTION credentials_count_below_key_version(p_version integer)
  RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT count(*) FROM agent_credentials WHERE key_version < p_version $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON agent_credentials TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION credentials_below_key_version(integer, integer), credentials_count_below_key_version(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credentials_below_key_version(integer, integer), credentials_count_below_key_version(integer) TO fleetgate_app;
