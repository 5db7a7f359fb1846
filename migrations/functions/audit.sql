-- The audit log: hash chain per tenant, append-only, and the one retention path.
-- Canonical encoding (v1): every field is a netstring `<byte length>:<UTF-8 bytes>,`, or `-,` for NULL, in
-- this order: "fleetgate-audit-v1", tenant_id, seq, id, created_at, actor_type, actor_id, action,
-- target_type, target_id, outcome, request_id, detail, prev_hash; uuids lower-case text, seq decimal,
-- created_at UTC `YYYY-MM-DDTHH:MI:SS.ffffffZ`, detail the jsonb as Postgres renders it, prev_hash
-- lower-case hex. hash = sha256(encoding). The first event of a tenant has seq 1 and prev_hash = 32 zero
-- bytes; after retention the first remaining event links to a signed checkpoint instead. The same
-- encoding is implemented in src/modules/audit/chain.ts (verifyAuditLog, the offline verifier).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The canonical hash of one event (see the header), pinned by tests to the TypeScript encoding.
-- One plpgsql expression on purpose: nested SQL-function calls cost ~0.3 ms per event, this ~0.01 ms.
CREATE OR REPLACE FUNCTION audit_event_hash(
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

-- Appends an event to its tenant's chain, in the schema it is written to (the shared table for standard
-- tenants, the tenant's own schema for enterprise ones). Whatever the writer supplied for seq, prev_hash,
-- hash and created_at is overwritten, so not even the gateway can choose chain values. The per-tenant
-- transaction-level advisory lock serialises concurrent writers of one tenant until they commit; other
-- tenants are not blocked. Runs as the invoker (the app role), under RLS. search_path ends with pg_temp:
-- otherwise a session's temporary table named audit_events would stand in for the real one.
-- The hash is computed inline (the same encoding as audit_event_hash(), one plpgsql call with 13
-- arguments less per event), each value rendered as text once; uuids always render as 36 characters
-- and prev_hash as 64 hex digits, so their lengths are constants. verifyAuditLog checks every event
-- it writes against the encoding.
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  last_seq bigint;
  last_hash bytea;
  seq_text text;
  created text;
  detail_text text;
BEGIN
  PERFORM pg_advisory_xact_lock(7364202, hashtext(NEW.tenant_id::text));
  IF TG_TABLE_SCHEMA = 'public' THEN
    SELECT seq, hash INTO last_seq, last_hash FROM public.audit_events WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
      SELECT seq, hash INTO last_seq, last_hash FROM public.audit_checkpoints WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
    END IF;
  ELSE
    EXECUTE format('SELECT seq, hash FROM %I.audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
      INTO last_seq, last_hash USING NEW.tenant_id;
    IF last_seq IS NULL THEN
      EXECUTE format('SELECT seq, hash FROM %I.audit_checkpoints WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1', TG_TABLE_SCHEMA)
        INTO last_seq, last_hash USING NEW.tenant_id;
    END IF;
  END IF;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.created_at := clock_timestamp();
  seq_text := NEW.seq::text;
  created := to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  detail_text := NEW.detail::text;
  NEW.hash := sha256(convert_to(
    '18:fleetgate-audit-v1,36:' || NEW.tenant_id::text
    || ',' || octet_length(seq_text)::text || ':' || seq_text
    || ',36:' || NEW.id::text
    || ',' || octet_length(created)::text || ':' || created
    || ',' || octet_length(convert_to(NEW.actor_type, 'UTF8'))::text || ':' || NEW.actor_type
    || ',' || octet_length(convert_to(NEW.actor_id, 'UTF8'))::text || ':' || NEW.actor_id
    || ',' || octet_length(convert_to(NEW.action, 'UTF8'))::text || ':' || NEW.action
    || ',' || coalesce(octet_length(convert_to(NEW.target_type, 'UTF8'))::text || ':' || NEW.target_type || ',', '-,')
    || coalesce(octet_length(convert_to(NEW.target_id, 'UTF8'))::text || ':' || NEW.target_id || ',', '-,')
    || octet_length(convert_to(NEW.outcome, 'UTF8'))::text || ':' || NEW.outcome
    || ',' || coalesce(octet_length(convert_to(NEW.request_id, 'UTF8'))::text || ':' || NEW.request_id || ',', '-,')
    || octet_length(convert_to(detail_text, 'UTF8'))::text || ':' || detail_text
    || ',64:' || encode(NEW.prev_hash, 'hex') || ',',
    'UTF8'));
  RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_events_chain() FROM PUBLIC;

-- Append-only, for every role including the owner: UPDATE, DELETE and TRUNCATE of audit_events and
-- audit_checkpoints are refused, with two exceptions, each marked by its own transaction:
-- audit_drop_through() (fleetgate.audit_drop, events a checkpoint covers) and
-- upgrade_tenant_to_enterprise() (fleetgate.tenant_move, after copying and verifying every row). The
-- app role has no DELETE privilege on either table, so the markers are of no use to it. (A superuser
-- can still disable triggers; that is what the chain and its verification are for.)
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
DECLARE
  allowed text := coalesce(current_setting('fleetgate.audit_drop', true), '');
  moving text := coalesce(current_setting('fleetgate.tenant_move', true), '');
BEGIN
  IF TG_TABLE_NAME = 'audit_events' AND TG_OP = 'DELETE' AND allowed <> ''
     AND split_part(allowed, ':', 1) = OLD.tenant_id::text AND OLD.seq <= split_part(allowed, ':', 2)::bigint THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'DELETE' AND TG_TABLE_SCHEMA = 'public' AND moving <> '' AND moving = OLD.tenant_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE EXECUTE ON FUNCTION audit_refuse_change() FROM PUBLIC;

-- The only way events leave the log: drops the current tenant's events up to p_seq, in the schema
-- that holds its chain, and only when the transaction is bound to that tenant, a checkpoint at exactly
-- p_seq holds that event's hash, and every dropped event is older than the tenant's retention.
-- SECURITY DEFINER so the app role needs no DELETE privilege.
CREATE OR REPLACE FUNCTION audit_drop_through(p_tenant uuid, p_seq bigint) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
DECLARE
  s text;
  checkpoint_hash bytea;
  event_hash bytea;
  retention integer;
  too_young boolean;
  dropped bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'audit_drop_through: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'audit_drop_through: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  EXECUTE format('SELECT hash FROM %I.audit_checkpoints WHERE tenant_id = $1 AND seq = $2', s) INTO checkpoint_hash USING p_tenant, p_seq;
  EXECUTE format('SELECT hash FROM %I.audit_events WHERE tenant_id = $1 AND seq = $2', s) INTO event_hash USING p_tenant, p_seq;
  IF checkpoint_hash IS NULL OR event_hash IS DISTINCT FROM checkpoint_hash THEN
    RAISE EXCEPTION 'audit_drop_through: no checkpoint at seq % matching the chain', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT audit_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('SELECT EXISTS (SELECT FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2
                  AND created_at >= now() - make_interval(days => $3))', s) INTO too_young USING p_tenant, p_seq, retention;
  IF too_young THEN
    RAISE EXCEPTION 'audit_drop_through: events up to seq % are within retention', p_seq USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('fleetgate.audit_drop', p_tenant::text || ':' || p_seq::text, true);
  EXECUTE format('DELETE FROM %I.audit_events WHERE tenant_id = $1 AND seq <= $2', s) USING p_tenant, p_seq;
  GET DIAGNOSTICS dropped = ROW_COUNT;
  PERFORM set_config('fleetgate.audit_drop', '', true);
  RETURN dropped;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_drop_through(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_drop_through(uuid, bigint) TO fleetgate_app;
