-- Audit you can prove: a hash chain per tenant, append-only, with signed retention checkpoints and
-- time-bound support grants.
--
-- Canonical encoding (v1). Every field is written as a netstring: `<byte length>:<UTF-8 bytes>,`, or
-- `-,` for NULL, in this order:
--   "fleetgate-audit-v1", tenant_id, seq, id, created_at, actor_type, actor_id, action, target_type,
--   target_id, outcome, request_id, detail, prev_hash
-- where uuids are lower-case text, seq is decimal, created_at is UTC `YYYY-MM-DDTHH:MI:SS.ffffffZ`
-- (microseconds), detail is the jsonb rendered as text by Postgres, prev_hash is lower-case hex.
-- hash = sha256(encoding). The first event of a tenant has seq 1 and prev_hash = 32 zero bytes; after
-- retention, the first remaining event links to a signed checkpoint instead.
-- The same encoding is implemented in src/modules/audit/chain.ts (verifyAuditLog, the offline verifier).

-- One plpgsql expression on purpose: nested SQL-function calls cost ~0.3 ms per event, this ~0.01 ms.
CREATE FUNCTION audit_event_hash(
  tenant_id uuid, seq bigint, id uuid, created_at timestamptz, actor_type text, actor_id text, action text,
  target_type text, target_id text, outcome text, request_id text, detail jsonb, prev_hash bytea
) RETURNS bytea
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN sha256(convert_to(
    '18:fleetgate-audit-v1,'
    || coalesce(octet_length(convert_to(tenant_id::text, 'UTF8'))::text || ':' || tenant_id::text || ',', '-,')
    || coalesce(octet_length(convert_to(seq::text, 'UTF8'))::text || ':' || seq::text || ',', '-,')
    || coalesce(octet_length(convert_to(id::text, 'UTF8'))::text || ':' || id::text || ',', '-,')
    || coalesce(octet_length(convert_to(to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'))::text || ':' || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || ',', '-,')
    || coalesce(octet_length(convert_to(actor_type, 'UTF8'))::text || ':' || actor_type || ',', '-,')
    || coalesce(octet_length(convert_to(actor_id, 'UTF8'))::text || ':' || actor_id || ',', '-,')
    || coalesce(octet_length(convert_to(action, 'UTF8'))::text || ':' || action || ',', '-,')
    || coalesce(octet_length(convert_to(target_type, 'UTF8'))::text || ':' || target_type || ',', '-,')
    || coalesce(octet_length(convert_to(target_id, 'UTF8'))::text || ':' || target_id || ',', '-,')
    || coalesce(octet_length(convert_to(outcome, 'UTF8'))::text || ':' || outcome || ',', '-,')
    || coalesce(octet_length(convert_to(request_id, 'UTF8'))::text || ':' || request_id || ',', '-,')
    || coalesce(octet_length(convert_to(detail::text, 'UTF8'))::text || ':' || detail::text || ',', '-,')
    || coalesce(octet_length(convert_to(encode(prev_hash, 'hex'), 'UTF8'))::text || ':' || encode(prev_hash, 'hex') || ',', '-,'),
    'UTF8'));
END
$$;

-- Signed checkpoints: the chain's (seq, hash) at a retention cut, signed with the gateway's audit key
-- (Ed25519, kept in the keyring, never in the database). Events up to seq may be dropped only when a
-- checkpoint at exactly that seq exists; the first remaining event links to the checkpoint's hash.
CREATE TABLE audit_checkpoints (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  seq         bigint NOT NULL CHECK (seq > 0),
  hash        bytea NOT NULL CHECK (length(hash) = 32),
  key_id      text NOT NULL,
  signature   bytea NOT NULL CHECK (length(signature) = 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);

-- The chain columns. Existing rows (written before this migration) are chained in (created_at, id)
-- order; the owner lifts FORCE for this one statement block only, because no tenant setting is active.
ALTER TABLE audit_events ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;
ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE
  e record;
  last_tenant uuid;
  last_seq bigint;
  last_hash bytea;
BEGIN
  FOR e IN SELECT * FROM audit_events ORDER BY tenant_id, created_at, id LOOP
    IF last_tenant IS DISTINCT FROM e.tenant_id THEN
      last_tenant := e.tenant_id;
      last_seq := 0;
      last_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    last_seq := last_seq + 1;
    UPDATE audit_events SET seq = last_seq, prev_hash = last_hash,
      hash = audit_event_hash(e.tenant_id, last_seq, e.id, e.created_at, e.actor_type, e.actor_id, e.action, e.target_type,
                              e.target_id, e.outcome, e.request_id, e.detail, last_hash)
      WHERE id = e.id
      RETURNING hash INTO last_hash;
  END LOOP;
END
$$;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN hash SET NOT NULL,
  ADD CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
  ADD CONSTRAINT audit_events_hash_length CHECK (length(hash) = 32 AND length(prev_hash) = 32),
  ADD CONSTRAINT audit_events_tenant_seq UNIQUE (tenant_id, seq);
-- Filters of auditLog and exports by time.
CREATE INDEX audit_events_tenant_time ON audit_events (tenant_id, created_at);

-- Appends an event to its tenant's chain. Whatever the writer supplied for seq, prev_hash, hash and
-- created_at is overwritten, so not even the gateway can choose chain values. The per-tenant
-- transaction-level advisory lock serialises concurrent writers of one tenant until they commit, so
-- each sees its predecessor; other tenants are not blocked. Runs as the invoker (the app role), under
-- RLS: it can only ever read the chain of the tenant the transaction is bound to.
-- search_path ends with pg_temp: otherwise pg_temp comes first and a session's temporary table named
-- audit_events would stand in for the real one here.
CREATE FUNCTION audit_events_chain() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(7364202, hashtext(NEW.tenant_id::text));
  SELECT seq, hash INTO last_seq, last_hash FROM public.audit_events WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
  IF last_seq IS NULL THEN
    -- Nothing left after retention (or a brand-new tenant): continue from the latest checkpoint, or genesis.
    SELECT seq, hash INTO last_seq, last_hash FROM public.audit_checkpoints WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
  END IF;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.created_at := clock_timestamp();
  NEW.hash := public.audit_event_hash(NEW.tenant_id, NEW.seq, NEW.id, NEW.created_at, NEW.actor_type, NEW.actor_id, NEW.action,
                               NEW.target_type, NEW.target_id, NEW.outcome, NEW.request_id, NEW.detail, NEW.prev_hash);
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

-- Append-only, for every role including the owner: UPDATE, DELETE and TRUNCATE are refused. The
-- one exception is audit_drop_through() below, which marks its own transaction before deleting
-- events that a checkpoint covers. (A superuser can still disable triggers; that is what the chain
-- and its verification are for.)
CREATE FUNCTION audit_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
DECLARE
  allowed text := coalesce(current_setting('fleetgate.audit_drop', true), '');
BEGIN
  IF TG_TABLE_NAME = 'audit_events' AND TG_OP = 'DELETE' AND allowed <> ''
     AND split_part(allowed, ':', 1) = OLD.tenant_id::text AND OLD.seq <= split_part(allowed, ':', 2)::bigint THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Retention per tenant. At least 30 days, so even a compromised gateway cannot drop recent events.
ALTER TABLE tenants ADD COLUMN audit_retention_days integer NOT NULL DEFAULT 365
  CHECK (audit_retention_days BETWEEN 30 AND 3650);

-- The only way events leave the log: drops the current tenant's events up to p_seq, and only when
--  * the transaction is bound to that tenant (RLS binds the owner too: FORCE),
--  * a checkpoint at exactly p_seq exists and holds that event's hash,
--  * every dropped event is older than the tenant's retention.
-- SECURITY DEFINER so the app role needs no DELETE privilege; it cannot set the marker usefully
-- itself, because it has no DELETE privilege on audit_events at all.
CREATE FUNCTION audit_drop_through(p_tenant uuid, p_seq bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  checkpoint_hash bytea;
  event_hash bytea;
  retention integer;
  dropped bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'audit_drop_through: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT hash INTO checkpoint_hash FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq = p_seq;
  SELECT hash INTO event_hash FROM audit_events WHERE tenant_id = p_tenant AND seq = p_seq;
  IF checkpoint_hash IS NULL OR event_hash IS DISTINCT FROM checkpoint_hash THEN
    RAISE EXCEPTION 'audit_drop_through: no checkpoint at seq % matching the chain', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT audit_retention_days INTO retention FROM tenants WHERE id = p_tenant;
  IF EXISTS (SELECT FROM audit_events WHERE tenant_id = p_tenant AND seq <= p_seq
             AND created_at >= now() - make_interval(days => retention)) THEN
    RAISE EXCEPTION 'audit_drop_through: events up to seq % are within retention', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('fleetgate.audit_drop', p_tenant::text || ':' || p_seq::text, true);
  DELETE FROM audit_events WHERE tenant_id = p_tenant AND seq <= p_seq;
  GET DIAGNOSTICS dropped = ROW_COUNT;
  PERFORM set_config('fleetgate.audit_drop', '', true);
  RETURN dropped;
END
$$;

-- Support access: a tenant owner grants a named support principal read-only access until expires_at.
-- The token minted with the grant stops working at expiry (its exp) and as soon as revoked_at is set
-- (checked on every request).
CREATE TABLE support_grants (
  id                 uuid PRIMARY KEY,
  tenant_id          uuid NOT NULL REFERENCES tenants (id),
  support_principal  text NOT NULL CHECK (length(support_principal) BETWEEN 1 AND 200),
  reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  granted_by         uuid NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  revoked_at         timestamptz,
  CHECK (expires_at > created_at),
  UNIQUE (id, tenant_id),
  FOREIGN KEY (granted_by, tenant_id) REFERENCES users (id, tenant_id)
);
CREATE INDEX support_grants_tenant_page ON support_grants (tenant_id, id);

CALL enable_tenant_rls('audit_checkpoints', 'support_grants');

-- The same for 0001's SECURITY DEFINER counter: with `public` alone, pg_temp was searched first.
ALTER FUNCTION tenants_count_rows() SET search_path = pg_catalog, public, pg_temp;

-- The gateway: insert and select on the log and checkpoints, nothing else; the retention setting is
-- the only column of tenants it may change; grants are revoked, never deleted.
GRANT SELECT, INSERT ON audit_checkpoints TO fleetgate_app;
GRANT SELECT, INSERT ON support_grants TO fleetgate_app;
GRANT UPDATE (revoked_at) ON support_grants TO fleetgate_app;
GRANT UPDATE (audit_retention_days) ON tenants TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION audit_drop_through(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_drop_through(uuid, bigint) TO fleetgate_app;
REVOKE EXECUTE ON FUNCTION audit_events_chain(), audit_refuse_change() FROM PUBLIC;
