--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: advance_tenant_deletion(uuid, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
  steps text[] := ARRAY['REQUESTED', 'ERASING', 'RUNTIME_REMOVED', 'KEYS_DESTROYED', 'BACKUPS_SHREDDED', 'ROWS_DELETED', 'CERTIFIED'];
BEGIN
  IF NOT app_is_operator() THEN
    RAISE EXCEPTION 'advance_tenant_deletion: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF array_position(steps, p_to) IS DISTINCT FROM array_position(steps, p_from) + 1 OR p_to = 'CERTIFIED' THEN
    RAISE EXCEPTION 'advance_tenant_deletion: % does not follow %', p_to, p_from USING ERRCODE = 'data_exception';
  END IF;
  UPDATE tenant_deletions SET step = p_to, progress = progress || coalesce(p_progress, '{}'::jsonb), last_error = NULL, updated_at = now()
   WHERE tenant_id = p_tenant AND step = p_from AND due_at <= now();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'advance_tenant_deletion: the deletion is not at step %', p_from USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
END
$$;

ALTER FUNCTION public.advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb) OWNER TO fleetgate_owner;

--
-- Name: agent_memory_create_key(uuid, uuid, text, integer, text, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_provider text, p_wrapped_key text) RETURNS TABLE(live boolean, wrapped_key text, key_id uuid)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO agent_memory_keys (agent_id, tenant_id, provider, wrapped_key) VALUES (p_agent_id, p_tenant_id, p_provider, p_wrapped_key)
           ON CONFLICT (agent_id, tenant_id) DO NOTHING;
  RETURN QUERY SELECT true, k.wrapped_key, k.key_id FROM agent_memory_keys k WHERE k.tenant_id = p_tenant_id AND k.agent_id = p_agent_id;
END
$$;

ALTER FUNCTION public.agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_provider text, p_wrapped_key text) OWNER TO fleetgate_owner;

--
-- Name: agent_memory_entry(uuid, uuid, text, integer, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text) RETURNS TABLE(live boolean, id uuid, tags text[], ciphertext bytea, expires_ms double precision, created_ms double precision, updated_ms double precision, wrapped_key text)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY SELECT true, m.id, m.tags, m.ciphertext, extract(epoch from m.expires_at)::float8 * 1000,
            extract(epoch from m.created_at)::float8 * 1000, extract(epoch from m.updated_at)::float8 * 1000, k.wrapped_key
       FROM agent_memory m
       JOIN agent_memory_keys k ON k.tenant_id = m.tenant_id AND k.agent_id = m.agent_id AND k.key_id = m.key_id
      WHERE m.tenant_id = p_tenant_id AND m.agent_id = p_agent_id AND m.key = p_key AND (m.expires_at IS NULL OR m.expires_at > now());
END
$$;

ALTER FUNCTION public.agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text) OWNER TO fleetgate_owner;

--
-- Name: agent_memory_upsert(uuid, uuid, text, integer, uuid, text, jsonb, bytea, uuid, integer, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer, p_expires_at timestamp with time zone, p_now timestamp with time zone) RETURNS TABLE(live boolean, id uuid, created_ms double precision)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY INSERT INTO agent_memory AS m (id, tenant_id, agent_id, key, tags, ciphertext, key_id, size_bytes, expires_at, created_at, updated_at)
     VALUES (p_id, p_tenant_id, p_agent_id, p_key, ARRAY(SELECT jsonb_array_elements_text(p_tags)), p_ciphertext, p_key_id, p_size_bytes, p_expires_at, p_now, p_now)
     ON CONFLICT (tenant_id, agent_id, key) DO UPDATE SET tags = excluded.tags, ciphertext = excluded.ciphertext,
       key_id = excluded.key_id, size_bytes = excluded.size_bytes, expires_at = excluded.expires_at, updated_at = excluded.updated_at
     RETURNING true, m.id, extract(epoch from m.created_at)::float8 * 1000;
END
$$;

ALTER FUNCTION public.agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer, p_expires_at timestamp with time zone, p_now timestamp with time zone) OWNER TO fleetgate_owner;

--
-- Name: agent_memory_write_context(uuid, uuid, text, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) RETURNS TABLE(live boolean, max_value_bytes integer, wrapped_key text, key_id uuid)
    LANGUAGE plpgsql
    AS $$
#variable_conflict use_column
BEGIN
  IF NOT enter_agent_request(p_tenant_id, p_agent_id, p_search_path, p_generation) THEN
    live := false;
    RETURN NEXT;
    RETURN;
  END IF;
  RETURN QUERY SELECT true, t.memory_max_value_bytes, k.wrapped_key, k.key_id
       FROM tenants t LEFT JOIN agent_memory_keys k ON k.tenant_id = t.id AND k.agent_id = p_agent_id
      WHERE t.id = p_tenant_id;
END
$$;

ALTER FUNCTION public.agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) OWNER TO fleetgate_owner;

--
-- Name: agents_schedule_memory_purge(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.agents_schedule_memory_purge() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
BEGIN
  IF coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
    RETURN NULL;
  END IF;
  EXECUTE format('INSERT INTO %I.memory_purges (agent_id, tenant_id, deleted_at, purge_after)
                  SELECT $1, $2, now(), now() + make_interval(days => t.memory_retention_days)
                    FROM public.tenants t WHERE t.id = $2', TG_TABLE_SCHEMA)
    USING OLD.id, OLD.tenant_id;
  RETURN NULL;
END
$_$;

ALTER FUNCTION public.agents_schedule_memory_purge() OWNER TO fleetgate_owner;

--
-- Name: app_current_agent(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.app_current_agent() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.agent_id', true), '')::uuid $$;

ALTER FUNCTION public.app_current_agent() OWNER TO fleetgate_owner;

--
-- Name: app_current_tenant(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

ALTER FUNCTION public.app_current_tenant() OWNER TO fleetgate_owner;

--
-- Name: app_is_operator(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.app_is_operator() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('app.operator', true), ''), 'off') = 'on' $$;

ALTER FUNCTION public.app_is_operator() OWNER TO fleetgate_owner;

--
-- Name: audit_drop_through(uuid, bigint); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.audit_drop_through(p_tenant uuid, p_seq bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
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
$_$;

ALTER FUNCTION public.audit_drop_through(p_tenant uuid, p_seq bigint) OWNER TO fleetgate_owner;

--
-- Name: audit_event_hash(uuid, bigint, uuid, timestamp with time zone, text, text, text, text, text, text, text, jsonb, bytea); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.audit_event_hash(tenant_id uuid, seq bigint, id uuid, created_at timestamp with time zone, actor_type text, actor_id text, action text, target_type text, target_id text, outcome text, request_id text, detail jsonb, prev_hash bytea) RETURNS bytea
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

ALTER FUNCTION public.audit_event_hash(tenant_id uuid, seq bigint, id uuid, created_at timestamp with time zone, actor_type text, actor_id text, action text, target_type text, target_id text, outcome text, request_id text, detail jsonb, prev_hash bytea) OWNER TO fleetgate_owner;

--
-- Name: audit_events_chain(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.audit_events_chain() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
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
$_$;

ALTER FUNCTION public.audit_events_chain() OWNER TO fleetgate_owner;

--
-- Name: audit_refuse_change(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.audit_refuse_change() RETURNS trigger
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

ALTER FUNCTION public.audit_refuse_change() OWNER TO fleetgate_owner;

--
-- Name: cancel_tenant_deletion(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.cancel_tenant_deletion(p_tenant uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
  current_step text;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() OR app_is_operator() THEN
    RAISE EXCEPTION 'cancel_tenant_deletion: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT step INTO current_step FROM tenant_deletions WHERE tenant_id = p_tenant FOR UPDATE;
  IF current_step IS NULL THEN
    RAISE EXCEPTION 'cancel_tenant_deletion: no deletion is pending' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF current_step <> 'REQUESTED' THEN
    RAISE EXCEPTION 'cancel_tenant_deletion: the erasure has begun' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  DELETE FROM tenant_deletions WHERE tenant_id = p_tenant;
  UPDATE tenants SET status = 'ACTIVE', deletion_due_at = NULL WHERE id = p_tenant;
END
$$;

ALTER FUNCTION public.cancel_tenant_deletion(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: claim_job(text, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.claim_job(p_worker text, p_lease_seconds integer) RETURNS TABLE(job_id uuid, job_tenant_id uuid)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
  UPDATE jobs
     SET status = 'RUNNING', locked_by = p_worker, attempts = attempts + 1, updated_at = now(),
         locked_until = now() + make_interval(secs => p_lease_seconds)
   WHERE id = (SELECT id FROM jobs
                WHERE status IN ('QUEUED', 'RUNNING') AND run_at <= now()
                  AND (locked_until IS NULL OR locked_until < now())
                  -- one job per agent at a time, oldest first
                  AND NOT EXISTS (SELECT FROM jobs other
                                   WHERE other.agent_id = jobs.agent_id AND other.id <> jobs.id
                                     AND other.status = 'RUNNING' AND other.locked_until >= now())
                ORDER BY run_at, id
                LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, tenant_id
$$;

ALTER FUNCTION public.claim_job(p_worker text, p_lease_seconds integer) OWNER TO fleetgate_owner;

--
-- Name: client_app_versions_notify(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.client_app_versions_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', coalesce(NEW.tenant_id, OLD.tenant_id)::text);
  RETURN NULL;
END
$$;

ALTER FUNCTION public.client_app_versions_notify() OWNER TO fleetgate_owner;

--
-- Name: credentials_below_key_version(integer, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.credentials_below_key_version(p_version integer, p_limit integer) RETURNS TABLE(credential_id uuid, credential_tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT c.id, c.tenant_id FROM public.agent_credentials c WHERE c.key_version < p_version ORDER BY c.key_version, c.id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT id, tenant_id FROM %I.agent_credentials WHERE key_version < $1 ORDER BY key_version, id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$_$;

ALTER FUNCTION public.credentials_below_key_version(p_version integer, p_limit integer) OWNER TO fleetgate_owner;

--
-- Name: credentials_count_below_key_version(integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.credentials_count_below_key_version(p_version integer) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_credentials WHERE key_version < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_credentials WHERE key_version < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$_$;

ALTER FUNCTION public.credentials_count_below_key_version(p_version integer) OWNER TO fleetgate_owner;

--
-- Name: database_region(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.database_region() RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ SELECT name FROM public.region_identity $$;

ALTER FUNCTION public.database_region() OWNER TO fleetgate_owner;

--
-- Name: destroy_tenant_keys(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.destroy_tenant_keys(p_tenant uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE
  s text := tenant_data_schema(p_tenant);
  previous_tenant text := current_setting('app.tenant_id', true);
  credentials jsonb;
  memory_keys jsonb;
  escrow jsonb;
  sharing jsonb;
BEGIN
  IF lock_tenant_deletion(p_tenant) <> 'RUNTIME_REMOVED' THEN
    RAISE EXCEPTION 'destroy_tenant_keys: the deletion is not at step RUNTIME_REMOVED' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  EXECUTE format('WITH d AS (DELETE FROM %I.agent_credentials WHERE tenant_id = $1 RETURNING id) '
                 'SELECT coalesce(jsonb_agg(id::text ORDER BY id), ''[]'') FROM d', s) INTO credentials USING p_tenant;
  -- The escrow first: deleting a memory key deletes its mirror too (memory_key_escrow_follow), and
  -- the certificate names both.
  WITH d AS (DELETE FROM memory_key_escrow WHERE tenant_id = p_tenant RETURNING key_id)
  SELECT coalesce(jsonb_agg(key_id::text ORDER BY key_id), '[]') INTO escrow FROM d;
  EXECUTE format('WITH d AS (DELETE FROM %I.agent_memory_keys WHERE tenant_id = $1 RETURNING key_id) '
                 'SELECT coalesce(jsonb_agg(key_id::text ORDER BY key_id), ''[]'') FROM d', s) INTO memory_keys USING p_tenant;
  EXECUTE format('WITH d AS (DELETE FROM %I.tenant_sharing_keys WHERE tenant_id = $1 RETURNING wrapped_key) '
                 'SELECT coalesce(jsonb_agg(encode(sha256(convert_to(wrapped_key, ''UTF8'')), ''hex'')), ''[]'') FROM d', s)
    INTO sharing USING p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN jsonb_build_object('credentialKeys', credentials, 'memoryKeys', memory_keys, 'memoryKeyEscrow', escrow, 'sharingKeys', sharing);
END
$_$;

ALTER FUNCTION public.destroy_tenant_keys(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: enable_agent_rls(text[]); Type: PROCEDURE; Schema: public; Owner: fleetgate_owner
--

CREATE PROCEDURE public.enable_agent_rls(VARIADIC tables text[])
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
  t text;
  cond text := 'tenant_id = app_current_tenant() AND (app_current_agent() IS NULL OR agent_id = app_current_agent())';
BEGIN
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', t || '_select', t, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', t || '_insert', t, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', t || '_update', t, cond, cond);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', t || '_delete', t, cond);
  END LOOP;
END
$$;

ALTER PROCEDURE public.enable_agent_rls(VARIADIC tables text[]) OWNER TO fleetgate_owner;

--
-- Name: enable_members_only_rls(text, text); Type: PROCEDURE; Schema: public; Owner: fleetgate_owner
--

CREATE PROCEDURE public.enable_members_only_rls(IN tbl text, IN select_cond text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
  cond text := 'tenant_id = app_current_tenant() AND app_current_agent() IS NULL';
BEGIN
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (%s)', tbl || '_select', tbl, coalesce(select_cond, cond));
  EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (%s)', tbl || '_insert', tbl, cond);
  EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (%s) WITH CHECK (%s)', tbl || '_update', tbl, cond, cond);
  EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (%s)', tbl || '_delete', tbl, cond);
END
$$;

ALTER PROCEDURE public.enable_members_only_rls(IN tbl text, IN select_cond text) OWNER TO fleetgate_owner;

--
-- Name: enable_tenant_rls(text[]); Type: PROCEDURE; Schema: public; Owner: fleetgate_owner
--

CREATE PROCEDURE public.enable_tenant_rls(VARIADIC tables text[])
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (tenant_id = app_current_tenant())', t || '_select', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (tenant_id = app_current_tenant())', t || '_insert', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (tenant_id = app_current_tenant()) WITH CHECK (tenant_id = app_current_tenant())', t || '_update', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (tenant_id = app_current_tenant())', t || '_delete', t);
  END LOOP;
END
$$;

ALTER PROCEDURE public.enable_tenant_rls(VARIADIC tables text[]) OWNER TO fleetgate_owner;

--
-- Name: ensure_tier_guards(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.ensure_tier_guards() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE t name;
BEGIN
  FOR t IN SELECT public.tenant_tables() LOOP
    IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = format('public.%I', t)::regclass AND tgname = 'tenant_rows_stay_in_their_tier') THEN
      EXECUTE format('CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.%I '
                     'FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier()', t);
    END IF;
  END LOOP;
END
$$;

ALTER FUNCTION public.ensure_tier_guards() OWNER TO fleetgate_owner;

--
-- Name: enter_agent_request(uuid, uuid, text, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant_id::text, true),
          set_config('search_path', p_search_path, true),
          set_config('app.agent_id', p_agent_id::text, true);
  RETURN EXISTS (SELECT 1 FROM agents a WHERE a.id = p_agent_id AND a.tenant_id = p_tenant_id AND a.token_generation = p_generation);
END
$$;

ALTER FUNCTION public.enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) OWNER TO fleetgate_owner;

--
-- Name: enter_user_read(uuid, uuid, text, integer, uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
  IF NOT public.enter_user_request(p_tenant_id, p_user_id, p_search_path, p_version, p_session_id) THEN
    RAISE EXCEPTION 'token is not live' USING ERRCODE = 'FGL01';
  END IF;
  RETURN true;
END
$$;

ALTER FUNCTION public.enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) OWNER TO fleetgate_owner;

--
-- Name: enter_user_request(uuid, uuid, text, integer, uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) RETURNS boolean
    LANGUAGE plpgsql
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

ALTER FUNCTION public.enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) OWNER TO fleetgate_owner;

--
-- Name: erase_tenant_rows(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.erase_tenant_rows(p_tenant uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE
  s text := tenant_data_schema(p_tenant);
  previous_tenant text := current_setting('app.tenant_id', true);
  -- Parents before children; deleted in reverse.
  ordered name[] := ARRAY(SELECT o.t FROM unnest(tenant_tables_in_fk_order()) WITH ORDINALITY AS o(t, n)
                           WHERE o.t NOT IN ('audit_events', 'audit_checkpoints') ORDER BY o.n);
  i integer;
  n bigint;
  counts jsonb := '{}'::jsonb;
BEGIN
  IF lock_tenant_deletion(p_tenant) <> 'BACKUPS_SHREDDED' THEN
    RAISE EXCEPTION 'erase_tenant_rows: the deletion is not at step BACKUPS_SHREDDED' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  FOR i IN REVERSE cardinality(ordered)..1 LOOP
    EXECUTE format('DELETE FROM %I.%I WHERE tenant_id = $1', s, ordered[i]) USING p_tenant;
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts || jsonb_build_object(ordered[i], n);
  END LOOP;
  -- Deleting agents schedules their memory purge (agents_schedule_memory_purge): nothing is left to purge.
  EXECUTE format('DELETE FROM %I.memory_purges WHERE tenant_id = $1', s) USING p_tenant;
  DELETE FROM jobs WHERE tenant_id = p_tenant;
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || jsonb_build_object('jobs', n);
  -- The tenant's OpenID Connect connections live in the shared table of every tier (tenant_schema_exclusions).
  DELETE FROM oidc_connections WHERE tenant_id = p_tenant;
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || jsonb_build_object('oidc_connections', n);
  DELETE FROM memory_key_escrow WHERE tenant_id = p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN counts;
END
$_$;

ALTER FUNCTION public.erase_tenant_rows(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: expire_overdue_tasks(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.expire_overdue_tasks() RETURNS TABLE(task_id uuid, task_tenant_id uuid, task_agent_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE s name;
BEGIN
  RETURN QUERY UPDATE public.tasks t SET status = 'TIMED_OUT', finished_at = now()
   WHERE t.status IN ('QUEUED', 'RUNNING') AND t.deadline < now() RETURNING t.id, t.tenant_id, t.agent_id;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('UPDATE %I.tasks SET status = ''TIMED_OUT'', finished_at = now()
                                  WHERE status IN (''QUEUED'', ''RUNNING'') AND deadline < now() RETURNING id, tenant_id, agent_id', s);
  END LOOP;
END
$$;

ALTER FUNCTION public.expire_overdue_tasks() OWNER TO fleetgate_owner;

--
-- Name: finish_tenant_deletion(uuid, jsonb); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.finish_tenant_deletion(p_tenant uuid, p_certificate jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
  previous_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF lock_tenant_deletion(p_tenant) <> 'ROWS_DELETED' THEN
    RAISE EXCEPTION 'finish_tenant_deletion: the deletion is not at step ROWS_DELETED' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE tenant_deletions SET step = 'CERTIFIED', certificate = p_certificate, erased_at = now(), last_error = NULL, updated_at = now()
   WHERE tenant_id = p_tenant;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  UPDATE tenants SET status = 'DELETED', name = 'deleted tenant', frozen_reason = NULL, rate_limit_per_minute = NULL WHERE id = p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
END
$$;

ALTER FUNCTION public.finish_tenant_deletion(p_tenant uuid, p_certificate jsonb) OWNER TO fleetgate_owner;

--
-- Name: isolation_canary_outcomes(uuid, uuid, integer, boolean); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean) RETURNS TABLE(run_id uuid, run_ran_at timestamp with time zone, run_outcome text, run_duration_ms integer)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
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

ALTER FUNCTION public.isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean) OWNER TO fleetgate_owner;

--
-- Name: jobs_announce(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.jobs_announce() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_jobs', '');
  RETURN NULL;
END
$$;

ALTER FUNCTION public.jobs_announce() OWNER TO fleetgate_owner;

--
-- Name: lock_tenant_deletion(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.lock_tenant_deletion(p_tenant uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
  current_step text;
BEGIN
  IF NOT app_is_operator() THEN
    RAISE EXCEPTION 'lock_tenant_deletion: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT step INTO current_step FROM tenant_deletions WHERE tenant_id = p_tenant AND due_at <= now() FOR UPDATE;
  IF current_step IS NULL THEN
    RAISE EXCEPTION 'lock_tenant_deletion: no deletion of this tenant is due' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN current_step;
END
$$;

ALTER FUNCTION public.lock_tenant_deletion(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: memory_escrow_below_key_version(integer, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_escrow_below_key_version(p_version integer, p_limit integer) RETURNS TABLE(key_agent_id uuid, key_wrapped text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$ SELECT agent_id, wrapped_key FROM public.memory_key_escrow
        WHERE public.wrapped_key_version(wrapped_key) < p_version ORDER BY agent_id LIMIT p_limit $$;

ALTER FUNCTION public.memory_escrow_below_key_version(p_version integer, p_limit integer) OWNER TO fleetgate_owner;

--
-- Name: memory_escrow_count_below_key_version(integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_escrow_count_below_key_version(p_version integer) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$ SELECT count(*) FROM public.memory_key_escrow WHERE public.wrapped_key_version(wrapped_key) < p_version $$;

ALTER FUNCTION public.memory_escrow_count_below_key_version(p_version integer) OWNER TO fleetgate_owner;

--
-- Name: memory_key_escrow_follow(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_key_escrow_follow() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(OLD.tenant_id) THEN
      RETURN NULL;
    END IF;
    IF TG_TABLE_SCHEMA = 'public' AND coalesce(current_setting('fleetgate.tenant_move', true), '') = OLD.tenant_id::text THEN
      RETURN NULL;
    END IF;
    DELETE FROM public.memory_key_escrow WHERE agent_id = OLD.agent_id AND tenant_id = OLD.tenant_id;
  ELSE
    IF TG_TABLE_SCHEMA <> 'public' AND TG_TABLE_SCHEMA <> public.tenant_schema_name(NEW.tenant_id) THEN
      RETURN NULL;
    END IF;
    INSERT INTO public.memory_key_escrow (agent_id, tenant_id, provider, wrapped_key, created_at, key_id)
    VALUES (NEW.agent_id, NEW.tenant_id, NEW.provider, NEW.wrapped_key, NEW.created_at, NEW.key_id)
    ON CONFLICT (agent_id, tenant_id) DO UPDATE SET provider = EXCLUDED.provider, wrapped_key = EXCLUDED.wrapped_key,
      created_at = EXCLUDED.created_at, key_id = EXCLUDED.key_id;
  END IF;
  RETURN NULL;
END
$$;

ALTER FUNCTION public.memory_key_escrow_follow() OWNER TO fleetgate_owner;

--
-- Name: memory_keys_below_key_version(integer, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_keys_below_key_version(p_version integer, p_limit integer) RETURNS TABLE(key_agent_id uuid, key_tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT k.agent_id, k.tenant_id FROM public.agent_memory_keys k WHERE public.wrapped_key_version(k.wrapped_key) < p_version ORDER BY k.agent_id LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT agent_id, tenant_id FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1 ORDER BY agent_id LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$_$;

ALTER FUNCTION public.memory_keys_below_key_version(p_version integer, p_limit integer) OWNER TO fleetgate_owner;

--
-- Name: memory_keys_count_below_key_version(integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_keys_count_below_key_version(p_version integer) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.agent_memory_keys WHERE public.wrapped_key_version(wrapped_key) < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$_$;

ALTER FUNCTION public.memory_keys_count_below_key_version(p_version integer) OWNER TO fleetgate_owner;

--
-- Name: memory_maintenance_tenants(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.memory_maintenance_tenants(p_now timestamp with time zone) RETURNS TABLE(tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT p.tenant_id FROM public.memory_purges p WHERE p.purge_after <= p_now
         UNION SELECT m.tenant_id FROM public.agent_memory m WHERE m.expires_at <= p_now;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT tenant_id FROM %I.memory_purges WHERE purge_after <= $1
                                 UNION SELECT tenant_id FROM %I.agent_memory WHERE expires_at <= $1', s, s) USING p_now;
  END LOOP;
END
$_$;

ALTER FUNCTION public.memory_maintenance_tenants(p_now timestamp with time zone) OWNER TO fleetgate_owner;

--
-- Name: note_tenant_deletion_failure(uuid, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.note_tenant_deletion_failure(p_tenant uuid, p_error text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
  IF NOT app_is_operator() THEN
    RAISE EXCEPTION 'note_tenant_deletion_failure: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE tenant_deletions SET attempts = attempts + 1, last_error = left(p_error, 500), updated_at = now()
   WHERE tenant_id = p_tenant AND step <> 'CERTIFIED';
END
$$;

ALTER FUNCTION public.note_tenant_deletion_failure(p_tenant uuid, p_error text) OWNER TO fleetgate_owner;

--
-- Name: notify_live_change(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.notify_live_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  r record;
  agent uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  -- An upgrade to the enterprise tier moves the rows (upgrade_tenant_to_enterprise): nothing was deleted.
  IF TG_OP = 'DELETE' AND current_setting('fleetgate.tenant_move', true) = r.tenant_id::text THEN
    RETURN NULL;
  END IF;
  -- The few columns the notification carries, never the whole row (a task's input and result can be large).
  IF TG_ARGV[0] = 'task' THEN agent := r.agent_id; ELSE agent := r.id; END IF;
  PERFORM pg_notify('fleetgate_live', json_build_object(
    'kind', TG_ARGV[0],
    'tenantId', r.tenant_id,
    'id', r.id,
    'agentId', agent,
    'status', CASE WHEN TG_OP = 'DELETE' THEN 'DELETED' ELSE r.status::text END,
    'at', clock_timestamp(),
    'xid', pg_current_xact_id())::text);
  RETURN NULL;
END
$$;

ALTER FUNCTION public.notify_live_change() OWNER TO fleetgate_owner;

--
-- Name: notify_user_liveness(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.notify_user_liveness() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_user_liveness', to_jsonb(OLD) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;

ALTER FUNCTION public.notify_user_liveness() OWNER TO fleetgate_owner;

--
-- Name: oidc_connections_of(text, text[]); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.oidc_connections_of(p_issuer text, p_client_ids text[]) RETURNS TABLE(id uuid, tenant_id uuid, client_id text, allowed_domains text[], role_claim text, role_mapping jsonb, jit_role text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
  SELECT c.id, c.tenant_id, c.client_id, c.allowed_domains, c.role_claim, c.role_mapping, c.jit_role
    FROM public.oidc_connections c
   WHERE c.issuer = p_issuer AND c.client_id = ANY (p_client_ids)
   ORDER BY c.tenant_id
$$;

ALTER FUNCTION public.oidc_connections_of(p_issuer text, p_client_ids text[]) OWNER TO fleetgate_owner;

--
-- Name: platform_client_app_versions_notify(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.platform_client_app_versions_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_documents', 'platform');
  RETURN NULL;
END
$$;

ALTER FUNCTION public.platform_client_app_versions_notify() OWNER TO fleetgate_owner;

--
-- Name: platform_oidc_connections_of(text, text[]); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.platform_oidc_connections_of(p_issuer text, p_client_ids text[]) RETURNS TABLE(id uuid, client_id text, allowed_domains text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
  SELECT c.id, c.client_id, c.allowed_domains FROM public.platform_oidc_connections c
   WHERE c.issuer = p_issuer AND c.client_id = ANY (p_client_ids) ORDER BY c.id
$$;

ALTER FUNCTION public.platform_oidc_connections_of(p_issuer text, p_client_ids text[]) OWNER TO fleetgate_owner;

--
-- Name: platform_oidc_member_tenants(text, text, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
  SELECT DISTINCT u.tenant_id FROM public.users u
   WHERE (u.email = p_email
          OR EXISTS (SELECT FROM public.oidc_identities i
                      WHERE i.tenant_id = u.tenant_id AND i.user_id = u.id AND i.issuer = p_issuer AND i.subject = p_subject))
   ORDER BY 1
$$;

ALTER FUNCTION public.platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text) OWNER TO fleetgate_owner;

--
-- Name: provision_tenant_schema(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.provision_tenant_schema(p_tenant uuid) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'provision_tenant_schema: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT FROM public.tenants WHERE id = p_tenant AND plan = 'ENTERPRISE') THEN
    RAISE EXCEPTION 'provision_tenant_schema: no such enterprise tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN public.sync_tenant_schema(p_tenant);
END
$$;

ALTER FUNCTION public.provision_tenant_schema(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: purge_task_history(uuid, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.purge_task_history(p_tenant uuid, p_limit integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE
  s text;
  retention integer;
  deleted bigint;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() THEN
    RAISE EXCEPTION 'purge_task_history: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_limit IS NULL OR p_limit < 1 THEN
    RAISE EXCEPTION 'purge_task_history: the limit must be positive' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  s := public.tenant_data_schema(p_tenant);
  IF s IS NULL OR NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'purge_task_history: no such tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT task_retention_days INTO retention FROM public.tenants WHERE id = p_tenant;
  EXECUTE format('DELETE FROM %I.tasks WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM %I.tasks WHERE tenant_id = $1 AND status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
                       AND coalesce(finished_at, created_at) < now() - make_interval(days => $2) LIMIT $3))', s, s)
    USING p_tenant, retention, p_limit;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$_$;

ALTER FUNCTION public.purge_task_history(p_tenant uuid, p_limit integer) OWNER TO fleetgate_owner;

--
-- Name: request_tenant_deletion(uuid, uuid, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE
  s text;
  is_owner boolean;
  due timestamptz;
BEGIN
  IF p_tenant IS DISTINCT FROM app_current_tenant() OR app_is_operator() THEN
    RAISE EXCEPTION 'request_tenant_deletion: not the current tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_grace_seconds IS NULL OR p_grace_seconds < 0 THEN
    RAISE EXCEPTION 'request_tenant_deletion: invalid grace period' USING ERRCODE = 'data_exception';
  END IF;
  s := tenant_data_schema(p_tenant);
  EXECUTE format('SELECT EXISTS (SELECT FROM %I.users WHERE id = $1 AND tenant_id = $2 AND role = ''OWNER'')', s)
    INTO is_owner USING p_user, p_tenant;
  IF NOT is_owner THEN
    RAISE EXCEPTION 'request_tenant_deletion: only an owner asks' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM FROM tenants WHERE id = p_tenant AND status = 'ACTIVE' FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'request_tenant_deletion: the tenant is not active' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  due := now() + make_interval(secs => p_grace_seconds);
  INSERT INTO tenant_deletions (tenant_id, requested_by, due_at) VALUES (p_tenant, p_user, due);
  UPDATE tenants SET status = 'DELETION_PENDING', deletion_due_at = due WHERE id = p_tenant;
  RETURN due;
END
$_$;

ALTER FUNCTION public.request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer) OWNER TO fleetgate_owner;

--
-- Name: restore_tenant_rows(uuid, text, jsonb); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
  own text := public.tenant_schema_name(p_tenant);
  ordered name[] := public.tenant_tables_in_fk_order();
  excluded name[] := ARRAY(SELECT table_name FROM public.backup_exclusions);
  t name;
  occupied boolean;
  restored jsonb := '{}'::jsonb;
  n bigint;
  shredded_agents bigint := 0;
  shredded_entries bigint := 0;
  previous_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'restore_tenant_rows: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_schema IS DISTINCT FROM own AND p_schema !~ ('^' || own || '_restore_[a-z0-9]{1,20}$') THEN
    RAISE EXCEPTION 'restore_tenant_rows: not a schema of this tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF p_schema = own AND NOT EXISTS (SELECT FROM public.tenants WHERE id = p_tenant AND plan = 'ENTERPRISE') THEN
    RAISE EXCEPTION 'restore_tenant_rows: only an enterprise tenant is restored into its own schema' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT FROM jsonb_object_keys(p_data) k WHERE k <> ALL (ordered)) THEN
    RAISE EXCEPTION 'restore_tenant_rows: the archive holds a table that is not a tenant table' USING ERRCODE = 'data_exception';
  END IF;
  PERFORM public.sync_tenant_schema(p_tenant, p_schema);
  -- FORCE binds the owner too: the copy runs under the tenant's own setting, restored afterwards.
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  -- Parents first, so that every foreign key finds its row.
  FOREACH t IN ARRAY ordered LOOP
    EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', p_schema, t) INTO occupied;
    IF occupied THEN
      RAISE EXCEPTION 'restore_tenant_rows: %.% is not empty', p_schema, t USING ERRCODE = 'unique_violation';
    END IF;
    IF t = 'agent_memory_keys' AND p_schema = own THEN
      -- From the live mirror, never from p_data; for agents restored above (the loop goes parents first).
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.agent_memory_keys (agent_id, tenant_id, provider, wrapped_key, created_at, key_id) '
                     'SELECT e.agent_id, e.tenant_id, e.provider, e.wrapped_key, e.created_at, e.key_id FROM public.memory_key_escrow e '
                     'WHERE e.tenant_id = $1 AND EXISTS (SELECT FROM %I.agents a WHERE a.id = e.agent_id)', p_schema, p_schema)
        USING p_tenant;
      EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
    ELSIF t = ANY (excluded) THEN
      NULL; -- never from an archive
    ELSIF t = 'agent_memory' THEN
      -- An archived row is restored when the live key of its agent is the key it was sealed under
      -- (a row of an archive from before memory key ids names none: the live key is taken as it).
      EXECUTE format('SELECT count(DISTINCT r.agent_id), count(*) FROM jsonb_populate_recordset(NULL::%I.%I, $1) r '
                     'WHERE NOT EXISTS (SELECT FROM public.memory_key_escrow k '
                     'WHERE k.agent_id = r.agent_id AND k.tenant_id = $2 AND (r.key_id IS NULL OR k.key_id = r.key_id))', p_schema, t)
        INTO shredded_agents, shredded_entries USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.%I SELECT r.* FROM jsonb_array_elements($1) e '
                     'JOIN public.memory_key_escrow k ON k.agent_id = (e ->> ''agent_id'')::uuid AND k.tenant_id = $2 '
                     'CROSS JOIN LATERAL jsonb_populate_record(NULL::%I.%I, e || jsonb_build_object(''key_id'', k.key_id)) r '
                     'WHERE (e ->> ''key_id'') IS NULL OR (e ->> ''key_id'')::uuid = k.key_id', p_schema, t, p_schema, t)
        USING coalesce(p_data -> t, '[]'::jsonb), p_tenant;
      GET DIAGNOSTICS n = ROW_COUNT;
      EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
      restored := restored || jsonb_build_object(t, n);
    ELSE
      EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', p_schema, t);
      EXECUTE format('INSERT INTO %I.%I SELECT * FROM jsonb_populate_recordset(NULL::%I.%I, $1)', p_schema, t, p_schema, t)
        USING coalesce(p_data -> t, '[]'::jsonb);
      GET DIAGNOSTICS n = ROW_COUNT;
      EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', p_schema, t);
      restored := restored || jsonb_build_object(t, n);
    END IF;
  END LOOP;
  -- The live schema's counters on the shared tenants row follow what was restored.
  IF p_schema = own THEN
    EXECUTE format('UPDATE public.tenants SET user_count = (SELECT count(*) FROM %I.users), agent_count = (SELECT count(*) FROM %I.agents) WHERE id = $1', own, own)
      USING p_tenant;
  END IF;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN jsonb_build_object('rows', restored, 'memory_shredded', jsonb_build_object('agents', shredded_agents, 'entries', shredded_entries));
END
$_$;

ALTER FUNCTION public.restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) OWNER TO fleetgate_owner;

--
-- Name: rewrap_memory_escrow(uuid, text, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
  IF NOT coalesce(public.wrapped_key_version(p_new) > public.wrapped_key_version(p_old), false) THEN
    RAISE EXCEPTION 'rewrap_memory_escrow: not a newer wrapping' USING ERRCODE = 'data_exception';
  END IF;
  UPDATE public.memory_key_escrow SET wrapped_key = p_new WHERE agent_id = p_agent AND wrapped_key = p_old;
  RETURN FOUND;
END
$$;

ALTER FUNCTION public.rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) OWNER TO fleetgate_owner;

--
-- Name: runtime_agents(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.runtime_agents() RETURNS TABLE(agent_id uuid, agent_tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT a.id, a.tenant_id FROM public.agents a WHERE a.desired_state = 'RUNNING';
  FOR s IN SELECT nspname FROM pg_namespace WHERE nspname ~ '^tenant_[0-9a-f]{32}$' LOOP
    RETURN QUERY EXECUTE format('SELECT id, tenant_id FROM %I.agents WHERE desired_state = ''RUNNING''', s);
  END LOOP;
END
$_$;

ALTER FUNCTION public.runtime_agents() OWNER TO fleetgate_owner;

--
-- Name: sharing_keys_below_key_version(integer, integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.sharing_keys_below_key_version(p_version integer, p_limit integer) RETURNS TABLE(key_tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name;
BEGIN
  RETURN QUERY SELECT k.tenant_id FROM public.tenant_sharing_keys k WHERE public.wrapped_key_version(k.wrapped_key) < p_version ORDER BY 1 LIMIT p_limit;
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT tenant_id FROM %I.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < $1 LIMIT $2', s)
      USING p_version, p_limit;
  END LOOP;
END
$_$;

ALTER FUNCTION public.sharing_keys_below_key_version(p_version integer, p_limit integer) OWNER TO fleetgate_owner;

--
-- Name: sharing_keys_count_below_key_version(integer); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.sharing_keys_count_below_key_version(p_version integer) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $_$
DECLARE s name; n bigint; total bigint;
BEGIN
  SELECT count(*) INTO total FROM public.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < p_version;
  FOR s IN SELECT public.tenant_schemas() LOOP
    EXECUTE format('SELECT count(*) FROM %I.tenant_sharing_keys WHERE public.wrapped_key_version(wrapped_key) < $1', s) INTO n USING p_version;
    total := total + n;
  END LOOP;
  RETURN total;
END
$_$;

ALTER FUNCTION public.sharing_keys_count_below_key_version(p_version integer) OWNER TO fleetgate_owner;

--
-- Name: sync_tenant_schema(uuid, text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.sync_tenant_schema(p_tenant uuid, p_schema text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  s text := coalesce(p_schema, public.tenant_schema_name(p_tenant));
  tables name[] := ARRAY(SELECT public.tenant_tables());
  t name;
  src regclass;
  dst regclass;
  r record;
  blocking record;
  def text;
BEGIN
  EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', s);
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO fleetgate_app', s);
  -- 1. Tables and their columns.
  FOREACH t IN ARRAY tables LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I.%I (LIKE public.%I INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS)', s, t, t);
    src := format('public.%I', t)::regclass;
    dst := format('%I.%I', s, t)::regclass;
    FOR r IN SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS dflt
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped
                AND NOT EXISTS (SELECT FROM pg_attribute b WHERE b.attrelid = dst AND b.attname = a.attname AND NOT b.attisdropped)
              ORDER BY a.attnum LOOP
      EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', dst, r.attname, r.typ)
        || coalesce(' DEFAULT ' || r.dflt, '') || CASE WHEN r.attnotnull THEN ' NOT NULL' ELSE '' END;
    END LOOP;
    -- Columns the shared table dropped (with what depends on them there too: indexes, constraints).
    FOR r IN SELECT b.attname FROM pg_attribute b
              WHERE b.attrelid = dst AND b.attnum > 0 AND NOT b.attisdropped
                AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = src AND a.attname = b.attname AND NOT a.attisdropped) LOOP
      EXECUTE format('ALTER TABLE %s DROP COLUMN %I CASCADE', dst, r.attname);
    END LOOP;
    -- Type, default and NOT NULL of the columns both have.
    FOR r IN SELECT a.attname, b.attnum AS dnum, a.attgenerated <> '' AS generated,
                    format_type(a.atttypid, a.atttypmod) AS typ, format_type(b.atttypid, b.atttypmod) AS dtyp,
                    a.attnotnull AS notnull, b.attnotnull AS dnotnull,
                    pg_get_expr(d.adbin, d.adrelid) AS dflt, pg_get_expr(e.adbin, e.adrelid) AS ddflt
               FROM pg_attribute a
               JOIN pg_attribute b ON b.attrelid = dst AND b.attname = a.attname AND NOT b.attisdropped
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_attrdef e ON e.adrelid = b.attrelid AND e.adnum = b.attnum
              WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum LOOP
      def := r.ddflt;
      IF r.typ IS DISTINCT FROM r.dtyp THEN
        -- A policy that reads the column blocks the change; it is dropped here and recreated in step 4.
        FOR blocking IN SELECT pol.polname FROM pg_policy pol JOIN pg_depend dep ON dep.classid = 'pg_policy'::regclass AND dep.objid = pol.oid
                  WHERE pol.polrelid = dst AND dep.refobjid = dst AND dep.refobjsubid = r.dnum LOOP
          EXECUTE format('DROP POLICY %I ON %s', blocking.polname, dst);
        END LOOP;
        IF def IS NOT NULL AND NOT r.generated THEN
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', dst, r.attname);
          def := NULL;
        END IF;
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s USING %I::%s', dst, r.attname, r.typ, r.attname, r.typ);
      END IF;
      IF NOT r.generated AND def IS DISTINCT FROM r.dflt THEN
        IF r.dflt IS NULL THEN
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', dst, r.attname);
        ELSE
          EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT ', dst, r.attname) || r.dflt;
        END IF;
      END IF;
      IF r.notnull AND NOT r.dnotnull THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', dst, r.attname);
      ELSIF r.dnotnull AND NOT r.notnull THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP NOT NULL', dst, r.attname);
      END IF;
    END LOOP;
  END LOOP;
  -- 2. Constraints by name: the ones the shared tables dropped go (the pin stays), then keys and
  -- checks are added, so that every foreign key finds its target.
  FOR r IN SELECT c.conname, rt.relname AS tbl FROM pg_constraint c JOIN pg_class rt ON rt.oid = c.conrelid
            WHERE rt.relnamespace = s::regnamespace AND rt.relname = ANY (tables) AND c.contype IN ('p', 'u', 'c', 'x', 'f')
              AND c.conname <> 'tenant_schema_pin'
              AND NOT EXISTS (SELECT FROM pg_constraint o LEFT JOIN pg_class ft ON ft.oid = o.confrelid
                               WHERE o.conrelid = format('public.%I', rt.relname)::regclass AND o.conname = c.conname AND o.contype = c.contype
                                 AND pg_get_constraintdef(c.oid) = CASE WHEN o.contype = 'f' AND ft.relname = ANY (tables)
                                   THEN replace(pg_get_constraintdef(o.oid), ' REFERENCES public.' || quote_ident(ft.relname) || '(', format(' REFERENCES %I.%I(', s, ft.relname))
                                   ELSE pg_get_constraintdef(o.oid) END)
            ORDER BY c.contype <> 'f' LOOP
    EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT IF EXISTS %I CASCADE', s, r.tbl, r.conname);
  END LOOP;
  FOR r IN SELECT c.conrelid::regclass AS rel, rt.relname AS tbl, c.conname, c.contype, pg_get_constraintdef(c.oid) AS def, ft.relname AS ref
             FROM pg_constraint c JOIN pg_class rt ON rt.oid = c.conrelid LEFT JOIN pg_class ft ON ft.oid = c.confrelid
            WHERE rt.relnamespace = 'public'::regnamespace AND rt.relname = ANY (tables) AND c.contype IN ('p', 'u', 'c', 'x', 'f')
              AND NOT EXISTS (SELECT FROM pg_constraint o WHERE o.conrelid = format('%I.%I', s, rt.relname)::regclass AND o.conname = c.conname)
            ORDER BY c.contype = 'f', rt.relname, c.conname LOOP
    def := r.def;
    IF r.contype = 'f' AND r.ref = ANY (tables) THEN
      def := replace(def, ' REFERENCES public.' || quote_ident(r.ref) || '(', format(' REFERENCES %I.%I(', s, r.ref));
    END IF;
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I ', s, r.tbl, r.conname) || def;
  END LOOP;
  FOREACH t IN ARRAY tables LOOP
    src := format('public.%I', t)::regclass;
    dst := format('%I.%I', s, t)::regclass;
    -- The pin: only this tenant's rows, whoever writes.
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = dst AND conname = 'tenant_schema_pin') THEN
      EXECUTE format('ALTER TABLE %s ADD CONSTRAINT tenant_schema_pin CHECK (tenant_id = %L::uuid)', dst, p_tenant);
    END IF;
    -- 3. Indexes that back no constraint, by name (index names are per schema): extra ones go, missing ones come.
    FOR r IN SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = dst
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = dst)
                AND NOT EXISTS (SELECT FROM pg_index si JOIN pg_class sc ON sc.oid = si.indexrelid
                                 WHERE si.indrelid = src AND sc.relname = ic.relname
                                   AND replace(pg_get_indexdef(si.indexrelid), ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst))
                                       = pg_get_indexdef(i.indexrelid)) LOOP
      EXECUTE format('DROP INDEX %I.%I', s, r.relname);
    END LOOP;
    FOR r IN SELECT ic.relname, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = src
                AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = src)
                AND NOT EXISTS (SELECT FROM pg_class x WHERE x.relname = ic.relname AND x.relnamespace = s::regnamespace) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 4. Row level security: the same policies, by name; one the shared table dropped or changed goes first.
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', dst);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', dst);
    FOR r IN SELECT o.polname FROM pg_policy o
              WHERE o.polrelid = dst
                AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = src AND p.polname = o.polname
                                  AND p.polpermissive = o.polpermissive AND p.polcmd = o.polcmd AND p.polroles = o.polroles
                                  AND pg_get_expr(p.polqual, p.polrelid) IS NOT DISTINCT FROM pg_get_expr(o.polqual, o.polrelid)
                                  AND pg_get_expr(p.polwithcheck, p.polrelid) IS NOT DISTINCT FROM pg_get_expr(o.polwithcheck, o.polrelid)) LOOP
      EXECUTE format('DROP POLICY %I ON %s', r.polname, dst);
    END LOOP;
    FOR r IN SELECT p.polname, p.polpermissive, p.polcmd, p.polroles,
                    pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS chk
               FROM pg_policy p
              WHERE p.polrelid = src AND NOT EXISTS (SELECT FROM pg_policy o WHERE o.polrelid = dst AND o.polname = p.polname) LOOP
      EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', r.polname, dst,
                     CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                     CASE r.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                     CASE WHEN r.polroles = '{0}' THEN 'PUBLIC'
                          ELSE (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid = ANY (r.polroles)) END)
        || coalesce(' USING (' || r.qual || ')', '') || coalesce(' WITH CHECK (' || r.chk || ')', '');
    END LOOP;
    -- 5. Triggers (chain, append-only, counters), by name: extra ones go, missing ones come.
    FOR r IN SELECT o.tgname FROM pg_trigger o
              WHERE o.tgrelid = dst AND NOT o.tgisinternal
                AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = src AND g.tgname = o.tgname AND NOT g.tgisinternal
                                   AND replace(pg_get_triggerdef(g.oid), ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst))
                                       = pg_get_triggerdef(o.oid)) LOOP
      EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, dst);
    END LOOP;
    FOR r IN SELECT pg_get_triggerdef(g.oid) AS def FROM pg_trigger g
              WHERE g.tgrelid = src AND NOT g.tgisinternal
                AND NOT EXISTS (SELECT FROM pg_trigger o WHERE o.tgrelid = dst AND o.tgname = g.tgname) LOOP
      EXECUTE replace(r.def, ' ON public.' || quote_ident(t) || ' ', format(' ON %s ', dst));
    END LOOP;
    -- 6. Exactly the app role's privileges on the shared table, table-wide and per column; whatever
    -- else the tenant table grants, to anyone but its owner, is revoked.
    FOR r IN SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = src AND a.grantee = 'fleetgate_app'::regrole
                AND NOT has_table_privilege('fleetgate_app', dst, a.privilege_type) LOOP
      EXECUTE format('GRANT %s ON %s TO fleetgate_app', r.privilege_type, dst);
    END LOOP;
    FOR r IN SELECT at.attname, a.privilege_type FROM pg_attribute at, aclexplode(at.attacl) a
              WHERE at.attrelid = src AND at.attacl IS NOT NULL AND NOT at.attisdropped AND a.grantee = 'fleetgate_app'::regrole
                AND NOT EXISTS (SELECT FROM pg_attribute dt, aclexplode(dt.attacl) da
                                 WHERE dt.attrelid = dst AND dt.attname = at.attname AND dt.attacl IS NOT NULL
                                   AND da.grantee = a.grantee AND da.privilege_type = a.privilege_type) LOOP
      EXECUTE format('GRANT %s (%I) ON %s TO fleetgate_app', r.privilege_type, r.attname, dst);
    END LOOP;
    FOR r IN SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = dst AND a.grantee <> c.relowner
                AND NOT (a.grantee = 'fleetgate_app'::regrole
                         AND EXISTS (SELECT FROM pg_class sc, aclexplode(sc.relacl) sa
                                      WHERE sc.oid = src AND sa.grantee = a.grantee AND sa.privilege_type = a.privilege_type)) LOOP
      EXECUTE format('REVOKE %s ON %s FROM %s', r.privilege_type, dst,
                     CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
    END LOOP;
    FOR r IN SELECT dt.attname, a.grantee, a.privilege_type FROM pg_class c JOIN pg_attribute dt ON dt.attrelid = c.oid, aclexplode(dt.attacl) a
              WHERE c.oid = dst AND dt.attacl IS NOT NULL AND NOT dt.attisdropped AND a.grantee <> c.relowner
                AND NOT (a.grantee = 'fleetgate_app'::regrole
                         AND EXISTS (SELECT FROM pg_attribute st, aclexplode(st.attacl) sa
                                      WHERE st.attrelid = src AND st.attname = dt.attname AND st.attacl IS NOT NULL
                                        AND sa.grantee = a.grantee AND sa.privilege_type = a.privilege_type)) LOOP
      EXECUTE format('REVOKE %s (%I) ON %s FROM %s', r.privilege_type, r.attname, dst,
                     CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
    END LOOP;
  END LOOP;
  RETURN s;
END
$$;

ALTER FUNCTION public.sync_tenant_schema(p_tenant uuid, p_schema text) OWNER TO fleetgate_owner;

--
-- Name: task_history_tenants(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.task_history_tenants() RETURNS TABLE(tenant_id uuid)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE s name;
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'task_history_tenants: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN QUERY SELECT DISTINCT t.tenant_id FROM public.tasks t JOIN public.tenants n ON n.id = t.tenant_id
    WHERE t.status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT')
      AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days);
  FOR s IN SELECT public.tenant_schemas() LOOP
    RETURN QUERY EXECUTE format('SELECT DISTINCT t.tenant_id FROM %I.tasks t JOIN public.tenants n ON n.id = t.tenant_id
      WHERE t.status IN (''SUCCEEDED'', ''FAILED'', ''TIMED_OUT'')
        AND coalesce(t.finished_at, t.created_at) < now() - make_interval(days => n.task_retention_days)', s);
  END LOOP;
END
$$;

ALTER FUNCTION public.task_history_tenants() OWNER TO fleetgate_owner;

--
-- Name: tasks_announce(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tasks_announce() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tasks', NEW.agent_id::text);
  RETURN NULL;
END
$$;

ALTER FUNCTION public.tasks_announce() OWNER TO fleetgate_owner;

--
-- Name: tenant_backup_tables(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_backup_tables() RETURNS SETOF name
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ SELECT t FROM public.tenant_tables() t WHERE t NOT IN (SELECT table_name FROM public.backup_exclusions) ORDER BY t $$;

ALTER FUNCTION public.tenant_backup_tables() OWNER TO fleetgate_owner;

--
-- Name: tenant_data_schema(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_data_schema(p_tenant uuid) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$ SELECT CASE WHEN plan = 'ENTERPRISE' THEN public.tenant_schema_name(id) ELSE 'public' END FROM public.tenants WHERE id = p_tenant $$;

ALTER FUNCTION public.tenant_data_schema(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: tenant_rows_stay_in_their_tier(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_rows_stay_in_their_tier() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE current_plan text;
BEGIN
  IF TG_TABLE_SCHEMA = 'public' THEN
    SELECT plan INTO current_plan FROM public.tenants WHERE id = NEW.tenant_id FOR KEY SHARE;
    IF current_plan = 'ENTERPRISE' THEN
      RAISE EXCEPTION 'tenant % keeps its rows in its own schema', NEW.tenant_id USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END
$$;

ALTER FUNCTION public.tenant_rows_stay_in_their_tier() OWNER TO fleetgate_owner;

--
-- Name: tenant_schema_name(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_schema_name(p_tenant uuid) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 'tenant_' || replace(p_tenant::text, '-', '') $$;

ALTER FUNCTION public.tenant_schema_name(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: tenant_schemas(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_schemas() RETURNS SETOF name
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$ SELECT nspname FROM pg_namespace WHERE nspname ~ '^tenant_[0-9a-f]{32}$' ORDER BY nspname $_$;

ALTER FUNCTION public.tenant_schemas() OWNER TO fleetgate_owner;

--
-- Name: tenant_table_digest(text, text, uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_table_digest(p_schema text, p_table text, p_tenant uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE d jsonb;
BEGIN
  EXECUTE format('SELECT jsonb_build_object(''rows'', count(*), ''md5'', md5(coalesce(string_agg(to_jsonb(x)::text, ''|'' ORDER BY to_jsonb(x)::text), ''''))) '
                 'FROM %I.%I x WHERE tenant_id = $1', p_schema, p_table) INTO d USING p_tenant;
  RETURN d;
END
$_$;

ALTER FUNCTION public.tenant_table_digest(p_schema text, p_table text, p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: tenant_tables(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_tables() RETURNS SETOF name
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity AND c.relforcerowsecurity
     AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     AND c.relname NOT IN (SELECT table_name FROM public.tenant_schema_exclusions)
   ORDER BY c.relname
$$;

ALTER FUNCTION public.tenant_tables() OWNER TO fleetgate_owner;

--
-- Name: tenant_tables_in_fk_order(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenant_tables_in_fk_order() RETURNS name[]
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  remaining name[] := ARRAY(SELECT public.tenant_tables());
  ordered name[] := '{}';
  t name;
  placed integer;
BEGIN
  WHILE cardinality(remaining) > 0 LOOP
    placed := cardinality(ordered);
    FOREACH t IN ARRAY remaining LOOP
      CONTINUE WHEN EXISTS (
        SELECT FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid
         WHERE c.conrelid = format('public.%I', t)::regclass AND c.contype = 'f' AND f.relname <> t AND f.relname = ANY (remaining));
      ordered := ordered || t;
      remaining := array_remove(remaining, t);
    END LOOP;
    IF cardinality(ordered) = placed THEN
      RAISE EXCEPTION 'tenant_tables_in_fk_order: foreign keys form a cycle among %', remaining;
    END IF;
  END LOOP;
  RETURN ordered;
END
$$;

ALTER FUNCTION public.tenant_tables_in_fk_order() OWNER TO fleetgate_owner;

--
-- Name: tenants_announce_policy(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenants_announce_policy() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  PERFORM pg_notify('fleetgate_tenant_policy', NEW.id::text);
  RETURN NULL;
END
$$;

ALTER FUNCTION public.tenants_announce_policy() OWNER TO fleetgate_owner;

--
-- Name: tenants_count_rows(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenants_count_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
DECLARE
  delta integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
  row_tenant uuid := CASE TG_OP WHEN 'INSERT' THEN NEW.tenant_id ELSE OLD.tenant_id END;
BEGIN
  IF TG_TABLE_NAME = 'users' THEN
    UPDATE tenants SET user_count = user_count + delta WHERE id = row_tenant;
  ELSE
    UPDATE tenants SET agent_count = agent_count + delta WHERE id = row_tenant;
  END IF;
  RETURN NULL;
END
$$;

ALTER FUNCTION public.tenants_count_rows() OWNER TO fleetgate_owner;

--
-- Name: tenants_guard_columns(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenants_guard_columns() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NOT app_is_operator()
     AND (to_jsonb(NEW) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days')
         IS DISTINCT FROM (to_jsonb(OLD) - 'audit_retention_days' - 'memory_retention_days' - 'task_retention_days') THEN
    RAISE EXCEPTION 'only operators change a tenant''s lifecycle, limits and quotas' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;

ALTER FUNCTION public.tenants_guard_columns() OWNER TO fleetgate_owner;

--
-- Name: tenants_guard_deletion_status(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenants_guard_deletion_status() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NEW.status IS DISTINCT FROM OLD.status
     AND (OLD.status IN ('DELETION_PENDING', 'DELETED') OR NEW.status IN ('DELETION_PENDING', 'DELETED')) THEN
    RAISE EXCEPTION 'a tenant''s deletion status changes only through its deletion' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;

ALTER FUNCTION public.tenants_guard_deletion_status() OWNER TO fleetgate_owner;

--
-- Name: tenants_region_pin(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.tenants_region_pin() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
  IF NEW.region IS DISTINCT FROM database_region() THEN
    RAISE EXCEPTION 'tenant of region % cannot be stored in the database of region %', NEW.region, database_region()
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;

ALTER FUNCTION public.tenants_region_pin() OWNER TO fleetgate_owner;

--
-- Name: upgrade_tenant_to_enterprise(uuid); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.upgrade_tenant_to_enterprise(p_tenant uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
  s text := public.tenant_schema_name(p_tenant);
  ordered name[];
  t name;
  i integer;
  cols text;
  src jsonb;
  dst jsonb;
  report jsonb := '{}'::jsonb;
  current_plan text;
  previous_tenant text := current_setting('app.tenant_id', true);
BEGIN
  IF NOT public.app_is_operator() THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  SELECT plan INTO current_plan FROM public.tenants WHERE id = p_tenant FOR UPDATE;
  IF current_plan IS DISTINCT FROM 'STANDARD' THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: not a standard tenant' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT FROM pg_namespace WHERE nspname = s) THEN
    RAISE EXCEPTION 'upgrade_tenant_to_enterprise: schema % already exists', s USING ERRCODE = 'duplicate_schema';
  END IF;
  PERFORM public.sync_tenant_schema(p_tenant);
  ordered := public.tenant_tables_in_fk_order();
  FOREACH t IN ARRAY ordered LOOP
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = format('%I.%I', s, t)::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('ALTER TABLE %I.%I DISABLE TRIGGER USER', s, t);
    EXECUTE format('INSERT INTO %I.%I (%s) SELECT %s FROM public.%I WHERE tenant_id = $1', s, t, cols, cols, t) USING p_tenant;
    EXECUTE format('ALTER TABLE %I.%I ENABLE TRIGGER USER', s, t);
    src := public.tenant_table_digest('public', t, p_tenant);
    dst := public.tenant_table_digest(s, t, p_tenant);
    IF src IS DISTINCT FROM dst THEN
      RAISE EXCEPTION 'upgrade_tenant_to_enterprise: % differs after the copy (% vs %)', t, src, dst;
    END IF;
    report := report || jsonb_build_object(t, src);
  END LOOP;
  -- Verified: the shared rows go, children first.
  PERFORM set_config('fleetgate.tenant_move', p_tenant::text, true);
  FOR i IN REVERSE cardinality(ordered)..1 LOOP
    EXECUTE format('DELETE FROM public.%I WHERE tenant_id = $1', ordered[i]) USING p_tenant;
  END LOOP;
  PERFORM set_config('fleetgate.tenant_move', '', true);
  EXECUTE format('UPDATE public.tenants SET plan = ''ENTERPRISE'', user_count = (SELECT count(*) FROM %I.users), '
                 'agent_count = (SELECT count(*) FROM %I.agents) WHERE id = $1', s, s) USING p_tenant;
  PERFORM set_config('app.tenant_id', coalesce(previous_tenant, ''), true);
  RETURN report;
END
$_$;

ALTER FUNCTION public.upgrade_tenant_to_enterprise(p_tenant uuid) OWNER TO fleetgate_owner;

--
-- Name: users_bump_token_version(); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.users_bump_token_version() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
  IF NEW.role IS DISTINCT FROM OLD.role OR NEW.status IS DISTINCT FROM OLD.status THEN
    NEW.token_version := OLD.token_version + 1;
  END IF;
  RETURN NEW;
END
$$;

ALTER FUNCTION public.users_bump_token_version() OWNER TO fleetgate_owner;

--
-- Name: wrapped_key_version(text); Type: FUNCTION; Schema: public; Owner: fleetgate_owner
--

CREATE FUNCTION public.wrapped_key_version(p_wrapped text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT substring(p_wrapped FROM '^[a-z]+:v([0-9]+):')::integer $$;

ALTER FUNCTION public.wrapped_key_version(p_wrapped text) OWNER TO fleetgate_owner;

SET default_table_access_method = heap;

--
-- Name: agent_credentials; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.agent_credentials (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    name text NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    ciphertext bytea NOT NULL,
    nonce bytea NOT NULL,
    wrapped_key text NOT NULL,
    key_version integer NOT NULL,
    fingerprint text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    rotated_at timestamp with time zone,
    egress_hosts text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT agent_credentials_ciphertext_check CHECK (((length(ciphertext) >= 16) AND (length(ciphertext) <= 32784))),
    CONSTRAINT agent_credentials_egress_hosts_check CHECK ((cardinality(egress_hosts) <= 16)),
    CONSTRAINT agent_credentials_fingerprint_check CHECK ((fingerprint ~ '^[0-9a-f]{16}$'::text)),
    CONSTRAINT agent_credentials_key_version_check CHECK ((key_version >= 1)),
    CONSTRAINT agent_credentials_name_check CHECK ((name ~ '^[A-Z][A-Z0-9_]{0,63}$'::text)),
    CONSTRAINT agent_credentials_nonce_check CHECK ((length(nonce) = 12)),
    CONSTRAINT agent_credentials_version_check CHECK ((version >= 1)),
    CONSTRAINT agent_credentials_wrapped_key_check CHECK ((length(wrapped_key) <= 1000))
);

ALTER TABLE ONLY public.agent_credentials FORCE ROW LEVEL SECURITY;

ALTER TABLE public.agent_credentials OWNER TO fleetgate_owner;

--
-- Name: agent_memory; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.agent_memory (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    key text NOT NULL,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    ciphertext bytea NOT NULL,
    size_bytes integer NOT NULL,
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    key_id uuid NOT NULL,
    CONSTRAINT agent_memory_ciphertext_check CHECK (((length(ciphertext) >= 29) AND (length(ciphertext) <= (1048576 + 28)))),
    CONSTRAINT agent_memory_key_check CHECK (((length(key) >= 1) AND (length(key) <= 256))),
    CONSTRAINT agent_memory_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT agent_memory_tags_check CHECK ((cardinality(tags) <= 32))
);

ALTER TABLE ONLY public.agent_memory FORCE ROW LEVEL SECURITY;

ALTER TABLE public.agent_memory OWNER TO fleetgate_owner;

--
-- Name: agent_memory_keys; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.agent_memory_keys (
    agent_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    provider text NOT NULL,
    wrapped_key text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    key_id uuid DEFAULT gen_random_uuid() NOT NULL,
    CONSTRAINT agent_memory_keys_provider_check CHECK ((provider = ANY (ARRAY['local'::text, 'vault'::text]))),
    CONSTRAINT agent_memory_keys_wrapped_key_check CHECK ((length(wrapped_key) <= 1000))
);

ALTER TABLE ONLY public.agent_memory_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE public.agent_memory_keys OWNER TO fleetgate_owner;

--
-- Name: agents; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.agents (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    image text NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'CREATED'::text NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    desired_state text DEFAULT 'RUNNING'::text NOT NULL,
    command text[],
    memory_mb integer DEFAULT 64 NOT NULL,
    cpu_millis integer DEFAULT 250 NOT NULL,
    container_id text,
    runtime_image text,
    started_at timestamp with time zone,
    exit_code integer,
    status_reason text,
    egress boolean DEFAULT false NOT NULL,
    crash_count integer DEFAULT 0 NOT NULL,
    crash_window_started_at timestamp with time zone,
    token_generation integer DEFAULT 0 NOT NULL,
    sandbox text,
    sandbox_runtime text,
    workspace_mb integer,
    egress_rules text[] DEFAULT '{}'::text[] NOT NULL,
    CONSTRAINT agents_command_check CHECK (((cardinality(command) >= 1) AND (cardinality(command) <= 32))),
    CONSTRAINT agents_config_check CHECK ((jsonb_typeof(config) = 'object'::text)),
    CONSTRAINT agents_container_id_check CHECK ((length(container_id) <= 128)),
    CONSTRAINT agents_cpu_millis_check CHECK (((cpu_millis >= 10) AND (cpu_millis <= 4000))),
    CONSTRAINT agents_crash_count_check CHECK ((crash_count >= 0)),
    CONSTRAINT agents_description_check CHECK ((length(description) <= 2000)),
    CONSTRAINT agents_desired_state_check CHECK ((desired_state = ANY (ARRAY['RUNNING'::text, 'STOPPED'::text]))),
    CONSTRAINT agents_egress_rules_check CHECK ((cardinality(egress_rules) <= 64)),
    CONSTRAINT agents_image_check CHECK (((length(image) >= 1) AND (length(image) <= 200))),
    CONSTRAINT agents_memory_mb_check CHECK (((memory_mb >= 16) AND (memory_mb <= 4096))),
    CONSTRAINT agents_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT agents_runtime_image_check CHECK ((length(runtime_image) <= 300)),
    CONSTRAINT agents_sandbox_check CHECK ((sandbox = ANY (ARRAY['RUNC'::text, 'GVISOR'::text]))),
    CONSTRAINT agents_sandbox_runtime_check CHECK ((sandbox_runtime = ANY (ARRAY['RUNC'::text, 'GVISOR'::text]))),
    CONSTRAINT agents_status_check CHECK ((status = ANY (ARRAY['CREATED'::text, 'PROVISIONING'::text, 'RUNNING'::text, 'STOPPED'::text, 'FAILED'::text, 'DELETING'::text]))),
    CONSTRAINT agents_status_reason_check CHECK ((length(status_reason) <= 500)),
    CONSTRAINT agents_workspace_mb_check CHECK ((workspace_mb > 0))
);

ALTER TABLE ONLY public.agents FORCE ROW LEVEL SECURITY;

ALTER TABLE public.agents OWNER TO fleetgate_owner;

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.api_keys (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    secret_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    client_app text,
    CONSTRAINT api_keys_client_app_check CHECK ((client_app ~ '^[a-z0-9][a-z0-9._-]{0,62}$'::text)),
    CONSTRAINT api_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT api_keys_scopes_check CHECK ((cardinality(scopes) > 0)),
    CONSTRAINT api_keys_secret_hash_check CHECK ((length(secret_hash) = 32))
);

ALTER TABLE ONLY public.api_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE public.api_keys OWNER TO fleetgate_owner;

--
-- Name: audit_checkpoints; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.audit_checkpoints (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    key_id text NOT NULL,
    signature bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_checkpoints_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_checkpoints_seq_check CHECK ((seq > 0)),
    CONSTRAINT audit_checkpoints_signature_check CHECK ((length(signature) = 64))
);

ALTER TABLE ONLY public.audit_checkpoints FORCE ROW LEVEL SECURITY;

ALTER TABLE public.audit_checkpoints OWNER TO fleetgate_owner;

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.audit_events (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    actor_type text NOT NULL,
    actor_id text NOT NULL,
    action text NOT NULL,
    target_type text,
    target_id text,
    outcome text NOT NULL,
    request_id text,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    seq bigint NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_events_hash_length CHECK (((length(hash) = 32) AND (length(prev_hash) = 32))),
    CONSTRAINT audit_events_outcome_check CHECK ((outcome = ANY (ARRAY['SUCCESS'::text, 'DENIED'::text, 'FAILED'::text]))),
    CONSTRAINT audit_events_seq_positive CHECK ((seq > 0))
);

ALTER TABLE ONLY public.audit_events FORCE ROW LEVEL SECURITY;

ALTER TABLE public.audit_events OWNER TO fleetgate_owner;

--
-- Name: backup_exclusions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.backup_exclusions (
    table_name text NOT NULL,
    reason text NOT NULL
);

ALTER TABLE public.backup_exclusions OWNER TO fleetgate_owner;

--
-- Name: client_app_versions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.client_app_versions (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    app_id uuid NOT NULL,
    version text NOT NULL,
    documents jsonb NOT NULL,
    published_by text NOT NULL,
    published_at timestamp with time zone DEFAULT now() NOT NULL,
    retired_at timestamp with time zone,
    CONSTRAINT client_app_versions_documents_check CHECK ((jsonb_typeof(documents) = 'object'::text)),
    CONSTRAINT client_app_versions_published_by_check CHECK ((length(published_by) <= 200)),
    CONSTRAINT client_app_versions_version_check CHECK ((version ~ '^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$'::text))
);

ALTER TABLE ONLY public.client_app_versions FORCE ROW LEVEL SECURITY;

ALTER TABLE public.client_app_versions OWNER TO fleetgate_owner;

--
-- Name: client_apps; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.client_apps (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT client_apps_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'::text))
);

ALTER TABLE ONLY public.client_apps FORCE ROW LEVEL SECURITY;

ALTER TABLE public.client_apps OWNER TO fleetgate_owner;

--
-- Name: handoffs; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.handoffs (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    from_agent_id uuid NOT NULL,
    payload jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    received_at timestamp with time zone,
    sealed_payload bytea,
    CONSTRAINT handoffs_one_payload CHECK ((num_nonnulls(payload, sealed_payload) = 1)),
    CONSTRAINT handoffs_sealed_payload_check CHECK (((length(sealed_payload) >= 29) AND (length(sealed_payload) <= (1048576 + 28))))
);

ALTER TABLE ONLY public.handoffs FORCE ROW LEVEL SECURITY;

ALTER TABLE public.handoffs OWNER TO fleetgate_owner;

--
-- Name: isolation_canary_runs; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.isolation_canary_runs (
    id uuid NOT NULL,
    replica text NOT NULL,
    outcome text NOT NULL,
    reason text,
    ran_at timestamp with time zone NOT NULL,
    duration_ms integer NOT NULL,
    CONSTRAINT isolation_canary_runs_check CHECK (((outcome = 'OK'::text) = (reason IS NULL))),
    CONSTRAINT isolation_canary_runs_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT isolation_canary_runs_outcome_check CHECK ((outcome = ANY (ARRAY['OK'::text, 'EXPOSED'::text, 'ERROR'::text]))),
    CONSTRAINT isolation_canary_runs_reason_check CHECK ((reason ~ '^[A-Z][A-Z0-9_]{0,63}$'::text)),
    CONSTRAINT isolation_canary_runs_replica_check CHECK ((replica ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$'::text))
);

ALTER TABLE ONLY public.isolation_canary_runs FORCE ROW LEVEL SECURITY;

ALTER TABLE public.isolation_canary_runs OWNER TO fleetgate_owner;

--
-- Name: jobs; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.jobs (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    agent_id uuid NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'QUEUED'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 8 NOT NULL,
    run_at timestamp with time zone DEFAULT now() NOT NULL,
    locked_by text,
    locked_until timestamp with time zone,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT jobs_kind_check CHECK ((kind = ANY (ARRAY['agent.converge'::text, 'agent.remove'::text]))),
    CONSTRAINT jobs_last_error_check CHECK ((length(last_error) <= 1000)),
    CONSTRAINT jobs_status_check CHECK ((status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text, 'DONE'::text, 'FAILED'::text])))
);

ALTER TABLE ONLY public.jobs FORCE ROW LEVEL SECURITY;

ALTER TABLE public.jobs OWNER TO fleetgate_owner;

--
-- Name: memory_key_escrow; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.memory_key_escrow (
    agent_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    provider text NOT NULL,
    wrapped_key text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    key_id uuid NOT NULL,
    CONSTRAINT memory_key_escrow_provider_check CHECK ((provider = ANY (ARRAY['local'::text, 'vault'::text]))),
    CONSTRAINT memory_key_escrow_wrapped_key_check CHECK ((length(wrapped_key) <= 1000))
);

ALTER TABLE ONLY public.memory_key_escrow FORCE ROW LEVEL SECURITY;

ALTER TABLE public.memory_key_escrow OWNER TO fleetgate_owner;

--
-- Name: memory_purges; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.memory_purges (
    agent_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    deleted_at timestamp with time zone DEFAULT now() NOT NULL,
    purge_after timestamp with time zone NOT NULL
);

ALTER TABLE ONLY public.memory_purges FORCE ROW LEVEL SECURITY;

ALTER TABLE public.memory_purges OWNER TO fleetgate_owner;

--
-- Name: oidc_connections; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.oidc_connections (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    issuer text NOT NULL,
    client_id text NOT NULL,
    allowed_domains text[] NOT NULL,
    role_claim text,
    role_mapping jsonb DEFAULT '{}'::jsonb NOT NULL,
    jit_role text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oidc_connections_allowed_domains_check CHECK (((cardinality(allowed_domains) >= 1) AND (cardinality(allowed_domains) <= 50))),
    CONSTRAINT oidc_connections_client_id_check CHECK (((length(client_id) >= 1) AND (length(client_id) <= 200))),
    CONSTRAINT oidc_connections_issuer_check CHECK (((issuer ~ '^https?://'::text) AND (length(issuer) <= 500))),
    CONSTRAINT oidc_connections_jit_role_check CHECK ((jit_role = ANY (ARRAY['ADMIN'::text, 'MEMBER'::text, 'VIEWER'::text]))),
    CONSTRAINT oidc_connections_role_claim_check CHECK (((length(role_claim) >= 1) AND (length(role_claim) <= 100))),
    CONSTRAINT oidc_connections_role_mapping_check CHECK ((jsonb_typeof(role_mapping) = 'object'::text))
);

ALTER TABLE ONLY public.oidc_connections FORCE ROW LEVEL SECURITY;

ALTER TABLE public.oidc_connections OWNER TO fleetgate_owner;

--
-- Name: oidc_identities; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.oidc_identities (
    tenant_id uuid NOT NULL,
    issuer text NOT NULL,
    subject text NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oidc_identities_issuer_check CHECK ((length(issuer) <= 500)),
    CONSTRAINT oidc_identities_subject_check CHECK (((length(subject) >= 1) AND (length(subject) <= 255)))
);

ALTER TABLE ONLY public.oidc_identities FORCE ROW LEVEL SECURITY;

ALTER TABLE public.oidc_identities OWNER TO fleetgate_owner;

--
-- Name: oidc_token_uses; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.oidc_token_uses (
    tenant_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT oidc_token_uses_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.oidc_token_uses FORCE ROW LEVEL SECURITY;

ALTER TABLE public.oidc_token_uses OWNER TO fleetgate_owner;

--
-- Name: platform_client_app_versions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.platform_client_app_versions (
    id uuid NOT NULL,
    app_id uuid NOT NULL,
    version text NOT NULL,
    documents jsonb NOT NULL,
    published_by text NOT NULL,
    published_at timestamp with time zone DEFAULT now() NOT NULL,
    retired_at timestamp with time zone,
    CONSTRAINT platform_client_app_versions_documents_check CHECK ((jsonb_typeof(documents) = 'object'::text)),
    CONSTRAINT platform_client_app_versions_published_by_check CHECK ((length(published_by) <= 200)),
    CONSTRAINT platform_client_app_versions_version_check CHECK ((version ~ '^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$'::text))
);

ALTER TABLE ONLY public.platform_client_app_versions FORCE ROW LEVEL SECURITY;

ALTER TABLE public.platform_client_app_versions OWNER TO fleetgate_owner;

--
-- Name: platform_client_apps; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.platform_client_apps (
    id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT platform_client_apps_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'::text))
);

ALTER TABLE ONLY public.platform_client_apps FORCE ROW LEVEL SECURITY;

ALTER TABLE public.platform_client_apps OWNER TO fleetgate_owner;

--
-- Name: platform_oidc_connections; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.platform_oidc_connections (
    id uuid NOT NULL,
    issuer text NOT NULL,
    client_id text NOT NULL,
    allowed_domains text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT platform_oidc_connections_allowed_domains_check CHECK (((cardinality(allowed_domains) >= 1) AND (cardinality(allowed_domains) <= 50))),
    CONSTRAINT platform_oidc_connections_client_id_check CHECK (((length(client_id) >= 1) AND (length(client_id) <= 200))),
    CONSTRAINT platform_oidc_connections_issuer_check CHECK (((issuer ~ '^https?://'::text) AND (length(issuer) <= 500)))
);

ALTER TABLE ONLY public.platform_oidc_connections FORCE ROW LEVEL SECURITY;

ALTER TABLE public.platform_oidc_connections OWNER TO fleetgate_owner;

--
-- Name: region_identity; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.region_identity (
    only_row boolean DEFAULT true NOT NULL,
    name text NOT NULL,
    CONSTRAINT region_identity_name_check CHECK ((name ~ '^[a-z]{2}-[0-9]$'::text)),
    CONSTRAINT region_identity_only_row_check CHECK (only_row)
);

ALTER TABLE public.region_identity OWNER TO fleetgate_owner;

--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.schema_migrations (
    version text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.schema_migrations OWNER TO fleetgate_owner;

--
-- Name: session_refresh_tokens; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.session_refresh_tokens (
    tenant_id uuid NOT NULL,
    session_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT session_refresh_tokens_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.session_refresh_tokens FORCE ROW LEVEL SECURITY;

ALTER TABLE public.session_refresh_tokens OWNER TO fleetgate_owner;

--
-- Name: sign_in_links; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.sign_in_links (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    secret_hash bytea NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT sign_in_links_secret_hash_check CHECK ((length(secret_hash) = 32))
);

ALTER TABLE ONLY public.sign_in_links FORCE ROW LEVEL SECURITY;

ALTER TABLE public.sign_in_links OWNER TO fleetgate_owner;

--
-- Name: support_grants; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.support_grants (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    support_principal text NOT NULL,
    reason text NOT NULL,
    granted_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT support_grants_check CHECK ((expires_at > created_at)),
    CONSTRAINT support_grants_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 500))),
    CONSTRAINT support_grants_support_principal_check CHECK (((length(support_principal) >= 1) AND (length(support_principal) <= 200)))
);

ALTER TABLE ONLY public.support_grants FORCE ROW LEVEL SECURITY;

ALTER TABLE public.support_grants OWNER TO fleetgate_owner;

--
-- Name: tasks; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.tasks (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    input text NOT NULL,
    status text DEFAULT 'QUEUED'::text NOT NULL,
    result text,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    deadline timestamp with time zone,
    CONSTRAINT tasks_input_check CHECK ((length(input) <= 65536)),
    CONSTRAINT tasks_result_check CHECK ((length(result) <= 65536)),
    CONSTRAINT tasks_status_check CHECK ((status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text, 'SUCCEEDED'::text, 'FAILED'::text, 'TIMED_OUT'::text])))
);

ALTER TABLE ONLY public.tasks FORCE ROW LEVEL SECURITY;

ALTER TABLE public.tasks OWNER TO fleetgate_owner;

--
-- Name: tenant_deletions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.tenant_deletions (
    tenant_id uuid NOT NULL,
    requested_by uuid NOT NULL,
    requested_at timestamp with time zone DEFAULT now() NOT NULL,
    due_at timestamp with time zone NOT NULL,
    step text DEFAULT 'REQUESTED'::text NOT NULL,
    progress jsonb DEFAULT '{}'::jsonb NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    erased_at timestamp with time zone,
    certificate jsonb,
    CONSTRAINT tenant_deletions_last_error_check CHECK ((length(last_error) <= 500)),
    CONSTRAINT tenant_deletions_step_check CHECK ((step = ANY (ARRAY['REQUESTED'::text, 'ERASING'::text, 'RUNTIME_REMOVED'::text, 'KEYS_DESTROYED'::text, 'BACKUPS_SHREDDED'::text, 'ROWS_DELETED'::text, 'CERTIFIED'::text])))
);

ALTER TABLE ONLY public.tenant_deletions FORCE ROW LEVEL SECURITY;

ALTER TABLE public.tenant_deletions OWNER TO fleetgate_owner;

--
-- Name: tenant_schema_exclusions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.tenant_schema_exclusions (
    table_name text NOT NULL,
    reason text NOT NULL
);

ALTER TABLE public.tenant_schema_exclusions OWNER TO fleetgate_owner;

--
-- Name: tenant_sharing_keys; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.tenant_sharing_keys (
    tenant_id uuid NOT NULL,
    provider text NOT NULL,
    wrapped_key text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenant_sharing_keys_provider_check CHECK ((provider = ANY (ARRAY['local'::text, 'vault'::text]))),
    CONSTRAINT tenant_sharing_keys_wrapped_key_check CHECK ((length(wrapped_key) <= 1000))
);

ALTER TABLE ONLY public.tenant_sharing_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE public.tenant_sharing_keys OWNER TO fleetgate_owner;

--
-- Name: tenants; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.tenants (
    id uuid NOT NULL,
    name text NOT NULL,
    plan text DEFAULT 'STANDARD'::text NOT NULL,
    region text DEFAULT public.database_region() NOT NULL,
    status text DEFAULT 'ACTIVE'::text NOT NULL,
    user_count integer DEFAULT 0 NOT NULL,
    agent_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    audit_retention_days integer DEFAULT 365 NOT NULL,
    frozen_reason text,
    rate_limit_per_minute integer,
    max_agents integer DEFAULT 200 NOT NULL,
    max_memory_mb integer DEFAULT 16384 NOT NULL,
    max_cpu_millis integer DEFAULT 64000 NOT NULL,
    memory_retention_days integer DEFAULT 30 NOT NULL,
    memory_max_value_bytes integer DEFAULT 65536 NOT NULL,
    task_retention_days integer DEFAULT 90 NOT NULL,
    deletion_due_at timestamp with time zone,
    sandbox text,
    workspace_mb integer DEFAULT 1024 NOT NULL,
    max_disk_mb integer DEFAULT 204800 NOT NULL,
    CONSTRAINT tenants_audit_retention_days_check CHECK (((audit_retention_days >= 30) AND (audit_retention_days <= 3650))),
    CONSTRAINT tenants_frozen_reason_check CHECK ((length(frozen_reason) <= 500)),
    CONSTRAINT tenants_max_agents_check CHECK ((max_agents >= 0)),
    CONSTRAINT tenants_max_cpu_millis_check CHECK ((max_cpu_millis >= 0)),
    CONSTRAINT tenants_max_disk_mb_check CHECK ((max_disk_mb >= 0)),
    CONSTRAINT tenants_max_memory_mb_check CHECK ((max_memory_mb >= 0)),
    CONSTRAINT tenants_memory_max_value_bytes_check CHECK (((memory_max_value_bytes >= 1) AND (memory_max_value_bytes <= 1048576))),
    CONSTRAINT tenants_memory_retention_days_check CHECK (((memory_retention_days >= 1) AND (memory_retention_days <= 3650))),
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT tenants_plan_check CHECK ((plan = ANY (ARRAY['STANDARD'::text, 'ENTERPRISE'::text]))),
    CONSTRAINT tenants_rate_limit_per_minute_check CHECK ((rate_limit_per_minute > 0)),
    CONSTRAINT tenants_region_check CHECK ((region ~ '^[a-z]{2}-[0-9]$'::text)),
    CONSTRAINT tenants_sandbox_check CHECK ((sandbox = ANY (ARRAY['RUNC'::text, 'GVISOR'::text]))),
    CONSTRAINT tenants_status_check CHECK ((status = ANY (ARRAY['ACTIVE'::text, 'FROZEN'::text, 'DELETION_PENDING'::text, 'DELETED'::text]))),
    CONSTRAINT tenants_task_retention_days_check CHECK (((task_retention_days >= 1) AND (task_retention_days <= 3650))),
    CONSTRAINT tenants_workspace_mb_check CHECK (((workspace_mb >= 16) AND (workspace_mb <= 1048576)))
);

ALTER TABLE ONLY public.tenants FORCE ROW LEVEL SECURITY;

ALTER TABLE public.tenants OWNER TO fleetgate_owner;

--
-- Name: user_sessions; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.user_sessions (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    device_label text NOT NULL,
    method text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    revoked_reason text,
    client_app text,
    CONSTRAINT user_sessions_client_app_check CHECK ((client_app ~ '^[a-z0-9][a-z0-9._-]{0,62}$'::text)),
    CONSTRAINT user_sessions_device_label_check CHECK (((length(device_label) >= 1) AND (length(device_label) <= 100))),
    CONSTRAINT user_sessions_method_check CHECK ((method = ANY (ARRAY['SIGN_UP'::text, 'SIGN_IN_LINK'::text, 'OIDC'::text]))),
    CONSTRAINT user_sessions_revoked_reason_check CHECK ((length(revoked_reason) <= 200))
);

ALTER TABLE ONLY public.user_sessions FORCE ROW LEVEL SECURITY;

ALTER TABLE public.user_sessions OWNER TO fleetgate_owner;

--
-- Name: users; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'ACTIVE'::text NOT NULL,
    token_version integer DEFAULT 1 NOT NULL,
    CONSTRAINT users_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
    CONSTRAINT users_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['OWNER'::text, 'ADMIN'::text, 'MEMBER'::text, 'VIEWER'::text]))),
    CONSTRAINT users_status_check CHECK ((status = ANY (ARRAY['ACTIVE'::text, 'SUSPENDED'::text])))
);

ALTER TABLE ONLY public.users FORCE ROW LEVEL SECURITY;

ALTER TABLE public.users OWNER TO fleetgate_owner;

--
-- Name: workspace_file_grants; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.workspace_file_grants (
    file_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    agent_id uuid NOT NULL,
    mode text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workspace_file_grants_mode_check CHECK ((mode = ANY (ARRAY['READ'::text, 'WRITE'::text])))
);

ALTER TABLE ONLY public.workspace_file_grants FORCE ROW LEVEL SECURITY;

ALTER TABLE public.workspace_file_grants OWNER TO fleetgate_owner;

--
-- Name: workspace_files; Type: TABLE; Schema: public; Owner: fleetgate_owner
--

CREATE TABLE public.workspace_files (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    content text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    sealed_content bytea,
    CONSTRAINT workspace_files_content_check CHECK ((octet_length(content) <= 1048576)),
    CONSTRAINT workspace_files_name_check CHECK ((name ~ '^[A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}$'::text)),
    CONSTRAINT workspace_files_one_content CHECK ((num_nonnulls(content, sealed_content) = 1)),
    CONSTRAINT workspace_files_sealed_content_check CHECK (((length(sealed_content) >= 28) AND (length(sealed_content) <= (1048576 + 28))))
);

ALTER TABLE ONLY public.workspace_files FORCE ROW LEVEL SECURITY;

ALTER TABLE public.workspace_files OWNER TO fleetgate_owner;

--
-- Name: agent_credentials agent_credentials_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_credentials
    ADD CONSTRAINT agent_credentials_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: agent_credentials agent_credentials_tenant_id_agent_id_name_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_credentials
    ADD CONSTRAINT agent_credentials_tenant_id_agent_id_name_key UNIQUE (tenant_id, agent_id, name);

--
-- Name: agent_memory_keys agent_memory_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory_keys
    ADD CONSTRAINT agent_memory_keys_pkey PRIMARY KEY (agent_id, tenant_id);

--
-- Name: agent_memory agent_memory_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory
    ADD CONSTRAINT agent_memory_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: agent_memory agent_memory_tenant_id_agent_id_key_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory
    ADD CONSTRAINT agent_memory_tenant_id_agent_id_key_key UNIQUE (tenant_id, agent_id, key);

--
-- Name: agents agents_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: agents agents_tenant_id_name_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_tenant_id_name_key UNIQUE (tenant_id, name);

--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: audit_checkpoints audit_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (tenant_id, seq);

--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: audit_events audit_events_tenant_seq; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_tenant_seq UNIQUE (tenant_id, seq);

--
-- Name: backup_exclusions backup_exclusions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.backup_exclusions
    ADD CONSTRAINT backup_exclusions_pkey PRIMARY KEY (table_name);

--
-- Name: client_app_versions client_app_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_app_versions
    ADD CONSTRAINT client_app_versions_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: client_app_versions client_app_versions_tenant_id_app_id_version_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_app_versions
    ADD CONSTRAINT client_app_versions_tenant_id_app_id_version_key UNIQUE (tenant_id, app_id, version);

--
-- Name: client_apps client_apps_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_apps
    ADD CONSTRAINT client_apps_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: client_apps client_apps_tenant_id_name_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_apps
    ADD CONSTRAINT client_apps_tenant_id_name_key UNIQUE (tenant_id, name);

--
-- Name: handoffs handoffs_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.handoffs
    ADD CONSTRAINT handoffs_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: isolation_canary_runs isolation_canary_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.isolation_canary_runs
    ADD CONSTRAINT isolation_canary_runs_pkey PRIMARY KEY (id);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: memory_key_escrow memory_key_escrow_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.memory_key_escrow
    ADD CONSTRAINT memory_key_escrow_pkey PRIMARY KEY (agent_id, tenant_id);

--
-- Name: memory_purges memory_purges_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.memory_purges
    ADD CONSTRAINT memory_purges_pkey PRIMARY KEY (agent_id, tenant_id);

--
-- Name: oidc_connections oidc_connections_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_connections
    ADD CONSTRAINT oidc_connections_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: oidc_connections oidc_connections_tenant_id_issuer_client_id_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_connections
    ADD CONSTRAINT oidc_connections_tenant_id_issuer_client_id_key UNIQUE (tenant_id, issuer, client_id);

--
-- Name: oidc_identities oidc_identities_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_identities
    ADD CONSTRAINT oidc_identities_pkey PRIMARY KEY (tenant_id, issuer, subject);

--
-- Name: oidc_token_uses oidc_token_uses_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_token_uses
    ADD CONSTRAINT oidc_token_uses_pkey PRIMARY KEY (tenant_id, token_hash);

--
-- Name: platform_client_app_versions platform_client_app_versions_app_id_version_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_client_app_versions
    ADD CONSTRAINT platform_client_app_versions_app_id_version_key UNIQUE (app_id, version);

--
-- Name: platform_client_app_versions platform_client_app_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_client_app_versions
    ADD CONSTRAINT platform_client_app_versions_pkey PRIMARY KEY (id);

--
-- Name: platform_client_apps platform_client_apps_name_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_client_apps
    ADD CONSTRAINT platform_client_apps_name_key UNIQUE (name);

--
-- Name: platform_client_apps platform_client_apps_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_client_apps
    ADD CONSTRAINT platform_client_apps_pkey PRIMARY KEY (id);

--
-- Name: platform_oidc_connections platform_oidc_connections_issuer_client_id_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_oidc_connections
    ADD CONSTRAINT platform_oidc_connections_issuer_client_id_key UNIQUE (issuer, client_id);

--
-- Name: platform_oidc_connections platform_oidc_connections_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_oidc_connections
    ADD CONSTRAINT platform_oidc_connections_pkey PRIMARY KEY (id);

--
-- Name: region_identity region_identity_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.region_identity
    ADD CONSTRAINT region_identity_pkey PRIMARY KEY (only_row);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: session_refresh_tokens session_refresh_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.session_refresh_tokens
    ADD CONSTRAINT session_refresh_tokens_pkey PRIMARY KEY (tenant_id, token_hash);

--
-- Name: sign_in_links sign_in_links_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.sign_in_links
    ADD CONSTRAINT sign_in_links_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: support_grants support_grants_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.support_grants
    ADD CONSTRAINT support_grants_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: tenant_deletions tenant_deletions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenant_deletions
    ADD CONSTRAINT tenant_deletions_pkey PRIMARY KEY (tenant_id);

--
-- Name: tenant_schema_exclusions tenant_schema_exclusions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenant_schema_exclusions
    ADD CONSTRAINT tenant_schema_exclusions_pkey PRIMARY KEY (table_name);

--
-- Name: tenant_sharing_keys tenant_sharing_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenant_sharing_keys
    ADD CONSTRAINT tenant_sharing_keys_pkey PRIMARY KEY (tenant_id);

--
-- Name: tenants tenants_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

--
-- Name: user_sessions user_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.user_sessions
    ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: users users_tenant_id_email_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_email_key UNIQUE (tenant_id, email);

--
-- Name: workspace_file_grants workspace_file_grants_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_file_grants
    ADD CONSTRAINT workspace_file_grants_pkey PRIMARY KEY (file_id, agent_id, tenant_id);

--
-- Name: workspace_files workspace_files_pkey; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_files
    ADD CONSTRAINT workspace_files_pkey PRIMARY KEY (id, tenant_id);

--
-- Name: workspace_files workspace_files_tenant_id_name_key; Type: CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_files
    ADD CONSTRAINT workspace_files_tenant_id_name_key UNIQUE (tenant_id, name);

--
-- Name: agent_credentials_key_version; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX agent_credentials_key_version ON public.agent_credentials USING btree (key_version, id);

--
-- Name: agent_memory_expiry; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX agent_memory_expiry ON public.agent_memory USING btree (expires_at) WHERE (expires_at IS NOT NULL);

--
-- Name: agent_memory_page; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX agent_memory_page ON public.agent_memory USING btree (tenant_id, agent_id, id);

--
-- Name: agent_memory_tags; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX agent_memory_tags ON public.agent_memory USING gin (tags);

--
-- Name: agents_tenant_page; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX agents_tenant_page ON public.agents USING btree (tenant_id, id) INCLUDE (name, status);

--
-- Name: api_keys_tenant_page; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX api_keys_tenant_page ON public.api_keys USING btree (tenant_id, id);

--
-- Name: audit_events_tenant_time; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX audit_events_tenant_time ON public.audit_events USING btree (tenant_id, created_at);

--
-- Name: handoffs_inbox; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX handoffs_inbox ON public.handoffs USING btree (tenant_id, agent_id, id);

--
-- Name: handoffs_sent; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX handoffs_sent ON public.handoffs USING btree (tenant_id, from_agent_id, id);

--
-- Name: isolation_canary_runs_ran_at; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX isolation_canary_runs_ran_at ON public.isolation_canary_runs USING btree (ran_at);

--
-- Name: isolation_canary_runs_replica; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX isolation_canary_runs_replica ON public.isolation_canary_runs USING btree (replica, id);

--
-- Name: jobs_due; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX jobs_due ON public.jobs USING btree (run_at, id) WHERE (status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text]));

--
-- Name: jobs_tenant_agent; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX jobs_tenant_agent ON public.jobs USING btree (tenant_id, agent_id) WHERE (status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text]));

--
-- Name: memory_key_escrow_tenant; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX memory_key_escrow_tenant ON public.memory_key_escrow USING btree (tenant_id);

--
-- Name: session_refresh_tokens_session; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX session_refresh_tokens_session ON public.session_refresh_tokens USING btree (tenant_id, session_id);

--
-- Name: support_grants_tenant_page; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX support_grants_tenant_page ON public.support_grants USING btree (tenant_id, id);

--
-- Name: tasks_agent_page; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX tasks_agent_page ON public.tasks USING btree (tenant_id, agent_id, id);

--
-- Name: tasks_finished; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX tasks_finished ON public.tasks USING btree (tenant_id, finished_at) WHERE (status = ANY (ARRAY['SUCCEEDED'::text, 'FAILED'::text, 'TIMED_OUT'::text]));

--
-- Name: tasks_overdue; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX tasks_overdue ON public.tasks USING btree (deadline) WHERE (status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text]));

--
-- Name: user_sessions_user; Type: INDEX; Schema: public; Owner: fleetgate_owner
--

CREATE INDEX user_sessions_user ON public.user_sessions USING btree (tenant_id, user_id);

--
-- Name: agents agents_count; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER agents_count AFTER INSERT OR DELETE ON public.agents FOR EACH ROW EXECUTE FUNCTION public.tenants_count_rows();

--
-- Name: agents agents_live_created; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER agents_live_created AFTER INSERT ON public.agents FOR EACH ROW EXECUTE FUNCTION public.notify_live_change('agent');

--
-- Name: agents agents_live_deleted; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER agents_live_deleted AFTER DELETE ON public.agents FOR EACH ROW EXECUTE FUNCTION public.notify_live_change('agent');

--
-- Name: agents agents_live_status; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER agents_live_status AFTER UPDATE OF status ON public.agents FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION public.notify_live_change('agent');

--
-- Name: agents agents_schedule_memory_purge; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER agents_schedule_memory_purge AFTER DELETE ON public.agents FOR EACH ROW EXECUTE FUNCTION public.agents_schedule_memory_purge();

--
-- Name: audit_checkpoints audit_checkpoints_append_only; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER audit_checkpoints_append_only BEFORE DELETE OR UPDATE ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();

--
-- Name: audit_checkpoints audit_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();

--
-- Name: audit_events audit_events_append_only; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.audit_refuse_change();

--
-- Name: audit_events audit_events_chain; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER audit_events_chain BEFORE INSERT ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.audit_events_chain();

--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change();

--
-- Name: client_app_versions client_app_versions_notify; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER client_app_versions_notify AFTER INSERT OR DELETE OR UPDATE ON public.client_app_versions FOR EACH ROW EXECUTE FUNCTION public.client_app_versions_notify();

--
-- Name: jobs jobs_announce; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER jobs_announce AFTER INSERT ON public.jobs FOR EACH ROW EXECUTE FUNCTION public.jobs_announce();

--
-- Name: agent_memory_keys memory_key_escrow_follow; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER memory_key_escrow_follow AFTER INSERT OR DELETE OR UPDATE OF wrapped_key ON public.agent_memory_keys FOR EACH ROW EXECUTE FUNCTION public.memory_key_escrow_follow();

--
-- Name: platform_client_app_versions platform_client_app_versions_notify; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER platform_client_app_versions_notify AFTER INSERT OR DELETE OR UPDATE ON public.platform_client_app_versions FOR EACH ROW EXECUTE FUNCTION public.platform_client_app_versions_notify();

--
-- Name: tasks tasks_announce; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tasks_announce AFTER INSERT ON public.tasks FOR EACH ROW EXECUTE FUNCTION public.tasks_announce();

--
-- Name: tasks tasks_live_created; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tasks_live_created AFTER INSERT ON public.tasks FOR EACH ROW EXECUTE FUNCTION public.notify_live_change('task');

--
-- Name: tasks tasks_live_status; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tasks_live_status AFTER UPDATE OF status ON public.tasks FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION public.notify_live_change('task');

--
-- Name: agent_credentials tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.agent_credentials FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: agent_memory tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.agent_memory FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: agent_memory_keys tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.agent_memory_keys FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: agents tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.agents FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: api_keys tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.api_keys FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: audit_checkpoints tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: audit_events tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: client_app_versions tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.client_app_versions FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: client_apps tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.client_apps FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: handoffs tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.handoffs FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: memory_purges tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.memory_purges FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: oidc_identities tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.oidc_identities FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: oidc_token_uses tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.oidc_token_uses FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: session_refresh_tokens tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.session_refresh_tokens FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: sign_in_links tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.sign_in_links FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: support_grants tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.support_grants FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: tasks tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.tasks FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: tenant_sharing_keys tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.tenant_sharing_keys FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: user_sessions tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.user_sessions FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: users tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.users FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: workspace_file_grants tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.workspace_file_grants FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: workspace_files tenant_rows_stay_in_their_tier; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenant_rows_stay_in_their_tier BEFORE INSERT OR UPDATE OF tenant_id ON public.workspace_files FOR EACH ROW EXECUTE FUNCTION public.tenant_rows_stay_in_their_tier();

--
-- Name: tenants tenants_announce_policy; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenants_announce_policy AFTER UPDATE OF status, rate_limit_per_minute ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.tenants_announce_policy();

--
-- Name: tenants tenants_guard_columns; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenants_guard_columns BEFORE UPDATE ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.tenants_guard_columns();

--
-- Name: tenants tenants_guard_deletion_status; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenants_guard_deletion_status BEFORE UPDATE OF status ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.tenants_guard_deletion_status();

--
-- Name: tenants tenants_region_pin; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER tenants_region_pin BEFORE INSERT OR UPDATE OF region ON public.tenants FOR EACH ROW EXECUTE FUNCTION public.tenants_region_pin();

--
-- Name: user_sessions user_sessions_liveness_changed; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER user_sessions_liveness_changed AFTER UPDATE ON public.user_sessions FOR EACH ROW WHEN (((old.revoked_at IS DISTINCT FROM new.revoked_at) OR (old.expires_at IS DISTINCT FROM new.expires_at))) EXECUTE FUNCTION public.notify_user_liveness('user_id');

--
-- Name: user_sessions user_sessions_liveness_ended; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER user_sessions_liveness_ended AFTER DELETE ON public.user_sessions FOR EACH ROW EXECUTE FUNCTION public.notify_user_liveness('user_id');

--
-- Name: users users_bump_token_version; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER users_bump_token_version BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.users_bump_token_version();

--
-- Name: users users_count; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER users_count AFTER INSERT OR DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION public.tenants_count_rows();

--
-- Name: users users_liveness_changed; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER users_liveness_changed AFTER UPDATE ON public.users FOR EACH ROW WHEN ((old.token_version IS DISTINCT FROM new.token_version)) EXECUTE FUNCTION public.notify_user_liveness('id');

--
-- Name: users users_liveness_ended; Type: TRIGGER; Schema: public; Owner: fleetgate_owner
--

CREATE TRIGGER users_liveness_ended AFTER DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION public.notify_user_liveness('id');

--
-- Name: agent_credentials agent_credentials_agent_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_credentials
    ADD CONSTRAINT agent_credentials_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES public.agents(id, tenant_id) ON DELETE CASCADE;

--
-- Name: agent_credentials agent_credentials_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_credentials
    ADD CONSTRAINT agent_credentials_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: agent_memory_keys agent_memory_keys_agent_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory_keys
    ADD CONSTRAINT agent_memory_keys_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES public.agents(id, tenant_id) ON DELETE CASCADE;

--
-- Name: agent_memory_keys agent_memory_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory_keys
    ADD CONSTRAINT agent_memory_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: agent_memory agent_memory_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agent_memory
    ADD CONSTRAINT agent_memory_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: agents agents_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: api_keys api_keys_created_by_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_tenant_id_fkey FOREIGN KEY (created_by, tenant_id) REFERENCES public.users(id, tenant_id);

--
-- Name: api_keys api_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: audit_checkpoints audit_checkpoints_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: audit_events audit_events_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: client_app_versions client_app_versions_app_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_app_versions
    ADD CONSTRAINT client_app_versions_app_id_tenant_id_fkey FOREIGN KEY (app_id, tenant_id) REFERENCES public.client_apps(id, tenant_id) ON DELETE CASCADE;

--
-- Name: client_app_versions client_app_versions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_app_versions
    ADD CONSTRAINT client_app_versions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: client_apps client_apps_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.client_apps
    ADD CONSTRAINT client_apps_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: handoffs handoffs_agent_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.handoffs
    ADD CONSTRAINT handoffs_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES public.agents(id, tenant_id) ON DELETE CASCADE;

--
-- Name: handoffs handoffs_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.handoffs
    ADD CONSTRAINT handoffs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: jobs jobs_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: memory_key_escrow memory_key_escrow_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.memory_key_escrow
    ADD CONSTRAINT memory_key_escrow_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: memory_purges memory_purges_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.memory_purges
    ADD CONSTRAINT memory_purges_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: oidc_connections oidc_connections_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_connections
    ADD CONSTRAINT oidc_connections_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: oidc_identities oidc_identities_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_identities
    ADD CONSTRAINT oidc_identities_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: oidc_identities oidc_identities_user_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_identities
    ADD CONSTRAINT oidc_identities_user_id_tenant_id_fkey FOREIGN KEY (user_id, tenant_id) REFERENCES public.users(id, tenant_id) ON DELETE CASCADE;

--
-- Name: oidc_token_uses oidc_token_uses_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.oidc_token_uses
    ADD CONSTRAINT oidc_token_uses_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: platform_client_app_versions platform_client_app_versions_app_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.platform_client_app_versions
    ADD CONSTRAINT platform_client_app_versions_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.platform_client_apps(id) ON DELETE CASCADE;

--
-- Name: session_refresh_tokens session_refresh_tokens_session_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.session_refresh_tokens
    ADD CONSTRAINT session_refresh_tokens_session_id_tenant_id_fkey FOREIGN KEY (session_id, tenant_id) REFERENCES public.user_sessions(id, tenant_id) ON DELETE CASCADE;

--
-- Name: session_refresh_tokens session_refresh_tokens_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.session_refresh_tokens
    ADD CONSTRAINT session_refresh_tokens_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: sign_in_links sign_in_links_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.sign_in_links
    ADD CONSTRAINT sign_in_links_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: sign_in_links sign_in_links_user_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.sign_in_links
    ADD CONSTRAINT sign_in_links_user_id_tenant_id_fkey FOREIGN KEY (user_id, tenant_id) REFERENCES public.users(id, tenant_id) ON DELETE CASCADE;

--
-- Name: support_grants support_grants_granted_by_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.support_grants
    ADD CONSTRAINT support_grants_granted_by_tenant_id_fkey FOREIGN KEY (granted_by, tenant_id) REFERENCES public.users(id, tenant_id);

--
-- Name: support_grants support_grants_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.support_grants
    ADD CONSTRAINT support_grants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: tasks tasks_agent_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES public.agents(id, tenant_id) ON DELETE CASCADE;

--
-- Name: tasks tasks_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: tenant_deletions tenant_deletions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenant_deletions
    ADD CONSTRAINT tenant_deletions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: tenant_sharing_keys tenant_sharing_keys_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.tenant_sharing_keys
    ADD CONSTRAINT tenant_sharing_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: user_sessions user_sessions_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.user_sessions
    ADD CONSTRAINT user_sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: user_sessions user_sessions_user_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.user_sessions
    ADD CONSTRAINT user_sessions_user_id_tenant_id_fkey FOREIGN KEY (user_id, tenant_id) REFERENCES public.users(id, tenant_id) ON DELETE CASCADE;

--
-- Name: users users_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: workspace_file_grants workspace_file_grants_agent_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_file_grants
    ADD CONSTRAINT workspace_file_grants_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES public.agents(id, tenant_id) ON DELETE CASCADE;

--
-- Name: workspace_file_grants workspace_file_grants_file_id_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_file_grants
    ADD CONSTRAINT workspace_file_grants_file_id_tenant_id_fkey FOREIGN KEY (file_id, tenant_id) REFERENCES public.workspace_files(id, tenant_id) ON DELETE CASCADE;

--
-- Name: workspace_file_grants workspace_file_grants_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_file_grants
    ADD CONSTRAINT workspace_file_grants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: workspace_files workspace_files_tenant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE ONLY public.workspace_files
    ADD CONSTRAINT workspace_files_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

--
-- Name: agent_credentials; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.agent_credentials ENABLE ROW LEVEL SECURITY;

--
-- Name: agent_credentials agent_credentials_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_credentials_delete ON public.agent_credentials FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: agent_credentials agent_credentials_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_credentials_insert ON public.agent_credentials FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: agent_credentials agent_credentials_rewrap_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_credentials_rewrap_select ON public.agent_credentials FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: agent_credentials agent_credentials_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_credentials_select ON public.agent_credentials FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: agent_credentials agent_credentials_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_credentials_update ON public.agent_credentials FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: agent_memory; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.agent_memory ENABLE ROW LEVEL SECURITY;

--
-- Name: agent_memory agent_memory_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_delete ON public.agent_memory FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory agent_memory_expired; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_expired ON public.agent_memory FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: agent_memory agent_memory_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_insert ON public.agent_memory FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory_keys; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.agent_memory_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: agent_memory_keys agent_memory_keys_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_keys_delete ON public.agent_memory_keys FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory_keys agent_memory_keys_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_keys_insert ON public.agent_memory_keys FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory_keys agent_memory_keys_rewrap_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_keys_rewrap_select ON public.agent_memory_keys FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: agent_memory_keys agent_memory_keys_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_keys_select ON public.agent_memory_keys FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory_keys agent_memory_keys_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_keys_update ON public.agent_memory_keys FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent())))) WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory agent_memory_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_select ON public.agent_memory FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agent_memory agent_memory_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agent_memory_update ON public.agent_memory FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent())))) WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: agents; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.agents ENABLE ROW LEVEL SECURITY;

--
-- Name: agents agents_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agents_delete ON public.agents FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: agents agents_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agents_insert ON public.agents FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: agents agents_runtime_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agents_runtime_select ON public.agents FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: agents agents_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agents_select ON public.agents FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: agents agents_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY agents_update ON public.agents FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: api_keys; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: api_keys api_keys_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY api_keys_delete ON public.api_keys FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: api_keys api_keys_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY api_keys_insert ON public.api_keys FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: api_keys api_keys_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY api_keys_select ON public.api_keys FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: api_keys api_keys_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY api_keys_update ON public.api_keys FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_checkpoints; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.audit_checkpoints ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_checkpoints audit_checkpoints_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_checkpoints_delete ON public.audit_checkpoints FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_checkpoints audit_checkpoints_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_checkpoints_insert ON public.audit_checkpoints FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_checkpoints audit_checkpoints_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_checkpoints_select ON public.audit_checkpoints FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_checkpoints audit_checkpoints_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_checkpoints_update ON public.audit_checkpoints FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_events; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.audit_events ENABLE ROW LEVEL SECURITY;

--
-- Name: audit_events audit_events_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_events_delete ON public.audit_events FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_events audit_events_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_events_insert ON public.audit_events FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_events audit_events_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_events_select ON public.audit_events FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: audit_events audit_events_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY audit_events_update ON public.audit_events FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: client_app_versions; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.client_app_versions ENABLE ROW LEVEL SECURITY;

--
-- Name: client_app_versions client_app_versions_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_app_versions_delete ON public.client_app_versions FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: client_app_versions client_app_versions_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_app_versions_insert ON public.client_app_versions FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: client_app_versions client_app_versions_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_app_versions_select ON public.client_app_versions FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: client_app_versions client_app_versions_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_app_versions_update ON public.client_app_versions FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: client_apps; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.client_apps ENABLE ROW LEVEL SECURITY;

--
-- Name: client_apps client_apps_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_apps_delete ON public.client_apps FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: client_apps client_apps_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_apps_insert ON public.client_apps FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: client_apps client_apps_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_apps_select ON public.client_apps FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: client_apps client_apps_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY client_apps_update ON public.client_apps FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: handoffs; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.handoffs ENABLE ROW LEVEL SECURITY;

--
-- Name: handoffs handoffs_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY handoffs_delete ON public.handoffs FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: handoffs handoffs_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY handoffs_insert ON public.handoffs FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (from_agent_id = public.app_current_agent()))));

--
-- Name: handoffs handoffs_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY handoffs_select ON public.handoffs FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()) OR (from_agent_id = public.app_current_agent()))));

--
-- Name: handoffs handoffs_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY handoffs_update ON public.handoffs FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent())))) WITH CHECK (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: isolation_canary_runs; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.isolation_canary_runs ENABLE ROW LEVEL SECURITY;

--
-- Name: isolation_canary_runs isolation_canary_runs_operator; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY isolation_canary_runs_operator ON public.isolation_canary_runs TO fleetgate_app USING (public.app_is_operator()) WITH CHECK (public.app_is_operator());

--
-- Name: isolation_canary_runs isolation_canary_runs_outcomes; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY isolation_canary_runs_outcomes ON public.isolation_canary_runs FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: jobs; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.jobs ENABLE ROW LEVEL SECURITY;

--
-- Name: jobs jobs_claim_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_claim_select ON public.jobs FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: jobs jobs_claim_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_claim_update ON public.jobs FOR UPDATE TO fleetgate_owner USING (true) WITH CHECK (true);

--
-- Name: jobs jobs_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_delete ON public.jobs FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: jobs jobs_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_insert ON public.jobs FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: jobs jobs_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_select ON public.jobs FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: jobs jobs_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY jobs_update ON public.jobs FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: memory_key_escrow; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.memory_key_escrow ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_key_escrow memory_key_escrow_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_key_escrow_delete ON public.memory_key_escrow FOR DELETE TO fleetgate_owner USING (true);

--
-- Name: memory_key_escrow memory_key_escrow_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_key_escrow_insert ON public.memory_key_escrow FOR INSERT TO fleetgate_owner WITH CHECK (true);

--
-- Name: memory_key_escrow memory_key_escrow_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_key_escrow_select ON public.memory_key_escrow FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: memory_key_escrow memory_key_escrow_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_key_escrow_update ON public.memory_key_escrow FOR UPDATE TO fleetgate_owner USING (true) WITH CHECK (true);

--
-- Name: memory_purges; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.memory_purges ENABLE ROW LEVEL SECURITY;

--
-- Name: memory_purges memory_purges_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_purges_delete ON public.memory_purges FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: memory_purges memory_purges_due; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_purges_due ON public.memory_purges FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: memory_purges memory_purges_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_purges_insert ON public.memory_purges FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: memory_purges memory_purges_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_purges_select ON public.memory_purges FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: memory_purges memory_purges_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY memory_purges_update ON public.memory_purges FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL))) WITH CHECK (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: oidc_connections; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.oidc_connections ENABLE ROW LEVEL SECURITY;

--
-- Name: oidc_connections oidc_connections_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_connections_delete ON public.oidc_connections FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_connections oidc_connections_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_connections_insert ON public.oidc_connections FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_connections oidc_connections_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_connections_select ON public.oidc_connections FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_connections oidc_connections_sign_in; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_connections_sign_in ON public.oidc_connections FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: oidc_connections oidc_connections_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_connections_update ON public.oidc_connections FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_identities; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.oidc_identities ENABLE ROW LEVEL SECURITY;

--
-- Name: oidc_identities oidc_identities_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_identities_delete ON public.oidc_identities FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_identities oidc_identities_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_identities_insert ON public.oidc_identities FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_identities oidc_identities_platform_sign_in; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_identities_platform_sign_in ON public.oidc_identities FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: oidc_identities oidc_identities_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_identities_select ON public.oidc_identities FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_identities oidc_identities_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_identities_update ON public.oidc_identities FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_token_uses; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.oidc_token_uses ENABLE ROW LEVEL SECURITY;

--
-- Name: oidc_token_uses oidc_token_uses_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_token_uses_delete ON public.oidc_token_uses FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_token_uses oidc_token_uses_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_token_uses_insert ON public.oidc_token_uses FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_token_uses oidc_token_uses_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_token_uses_select ON public.oidc_token_uses FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: oidc_token_uses oidc_token_uses_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY oidc_token_uses_update ON public.oidc_token_uses FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: platform_client_app_versions; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.platform_client_app_versions ENABLE ROW LEVEL SECURITY;

--
-- Name: platform_client_app_versions platform_client_app_versions_operator; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY platform_client_app_versions_operator ON public.platform_client_app_versions TO fleetgate_app USING (public.app_is_operator()) WITH CHECK (public.app_is_operator());

--
-- Name: platform_client_apps; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.platform_client_apps ENABLE ROW LEVEL SECURITY;

--
-- Name: platform_client_apps platform_client_apps_operator; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY platform_client_apps_operator ON public.platform_client_apps TO fleetgate_app USING (public.app_is_operator()) WITH CHECK (public.app_is_operator());

--
-- Name: platform_oidc_connections; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.platform_oidc_connections ENABLE ROW LEVEL SECURITY;

--
-- Name: platform_oidc_connections platform_oidc_connections_operator; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY platform_oidc_connections_operator ON public.platform_oidc_connections TO fleetgate_app USING (public.app_is_operator()) WITH CHECK (public.app_is_operator());

--
-- Name: platform_oidc_connections platform_oidc_connections_sign_in; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY platform_oidc_connections_sign_in ON public.platform_oidc_connections FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: session_refresh_tokens; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.session_refresh_tokens ENABLE ROW LEVEL SECURITY;

--
-- Name: session_refresh_tokens session_refresh_tokens_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY session_refresh_tokens_delete ON public.session_refresh_tokens FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: session_refresh_tokens session_refresh_tokens_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY session_refresh_tokens_insert ON public.session_refresh_tokens FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: session_refresh_tokens session_refresh_tokens_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY session_refresh_tokens_select ON public.session_refresh_tokens FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: session_refresh_tokens session_refresh_tokens_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY session_refresh_tokens_update ON public.session_refresh_tokens FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: sign_in_links; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.sign_in_links ENABLE ROW LEVEL SECURITY;

--
-- Name: sign_in_links sign_in_links_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY sign_in_links_delete ON public.sign_in_links FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: sign_in_links sign_in_links_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY sign_in_links_insert ON public.sign_in_links FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: sign_in_links sign_in_links_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY sign_in_links_select ON public.sign_in_links FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: sign_in_links sign_in_links_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY sign_in_links_update ON public.sign_in_links FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: support_grants; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.support_grants ENABLE ROW LEVEL SECURITY;

--
-- Name: support_grants support_grants_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY support_grants_delete ON public.support_grants FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: support_grants support_grants_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY support_grants_insert ON public.support_grants FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: support_grants support_grants_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY support_grants_select ON public.support_grants FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: support_grants support_grants_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY support_grants_update ON public.support_grants FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tasks; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.tasks ENABLE ROW LEVEL SECURITY;

--
-- Name: tasks tasks_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_delete ON public.tasks FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: tasks tasks_expire_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_expire_select ON public.tasks FOR SELECT TO fleetgate_owner USING ((deadline IS NOT NULL));

--
-- Name: tasks tasks_expire_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_expire_update ON public.tasks FOR UPDATE TO fleetgate_owner USING (((status = ANY (ARRAY['QUEUED'::text, 'RUNNING'::text])) AND (deadline < now()))) WITH CHECK ((status = 'TIMED_OUT'::text));

--
-- Name: tasks tasks_history_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_history_select ON public.tasks FOR SELECT TO fleetgate_owner USING ((status = ANY (ARRAY['SUCCEEDED'::text, 'FAILED'::text, 'TIMED_OUT'::text])));

--
-- Name: tasks tasks_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_insert ON public.tasks FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tasks tasks_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_select ON public.tasks FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: tasks tasks_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tasks_update ON public.tasks FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_deletions; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.tenant_deletions ENABLE ROW LEVEL SECURITY;

--
-- Name: tenant_deletions tenant_deletions_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_deletions_delete ON public.tenant_deletions FOR DELETE TO fleetgate_owner USING ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_deletions tenant_deletions_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_deletions_insert ON public.tenant_deletions FOR INSERT TO fleetgate_owner WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_deletions tenant_deletions_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_deletions_select ON public.tenant_deletions FOR SELECT USING (((tenant_id = public.app_current_tenant()) OR public.app_is_operator()));

--
-- Name: tenant_deletions tenant_deletions_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_deletions_update ON public.tenant_deletions FOR UPDATE TO fleetgate_owner USING (((tenant_id = public.app_current_tenant()) OR public.app_is_operator())) WITH CHECK (((tenant_id = public.app_current_tenant()) OR public.app_is_operator()));

--
-- Name: tenant_sharing_keys; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.tenant_sharing_keys ENABLE ROW LEVEL SECURITY;

--
-- Name: tenant_sharing_keys tenant_sharing_keys_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_sharing_keys_delete ON public.tenant_sharing_keys FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_sharing_keys tenant_sharing_keys_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_sharing_keys_insert ON public.tenant_sharing_keys FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_sharing_keys tenant_sharing_keys_rewrap_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_sharing_keys_rewrap_select ON public.tenant_sharing_keys FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: tenant_sharing_keys tenant_sharing_keys_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_sharing_keys_select ON public.tenant_sharing_keys FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: tenant_sharing_keys tenant_sharing_keys_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenant_sharing_keys_update ON public.tenant_sharing_keys FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: tenants; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

--
-- Name: tenants tenants_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenants_delete ON public.tenants FOR DELETE USING ((id = public.app_current_tenant()));

--
-- Name: tenants tenants_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenants_insert ON public.tenants FOR INSERT WITH CHECK ((id = public.app_current_tenant()));

--
-- Name: tenants tenants_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenants_select ON public.tenants FOR SELECT USING (((id = public.app_current_tenant()) OR public.app_is_operator()));

--
-- Name: tenants tenants_update_app; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenants_update_app ON public.tenants FOR UPDATE TO fleetgate_app USING (((id = public.app_current_tenant()) OR public.app_is_operator())) WITH CHECK (((id = public.app_current_tenant()) OR public.app_is_operator()));

--
-- Name: tenants tenants_update_counts; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY tenants_update_counts ON public.tenants FOR UPDATE TO fleetgate_owner USING ((id = public.app_current_tenant())) WITH CHECK ((id = public.app_current_tenant()));

--
-- Name: user_sessions; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.user_sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: user_sessions user_sessions_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY user_sessions_delete ON public.user_sessions FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: user_sessions user_sessions_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY user_sessions_insert ON public.user_sessions FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: user_sessions user_sessions_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY user_sessions_select ON public.user_sessions FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: user_sessions user_sessions_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY user_sessions_update ON public.user_sessions FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: users; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

--
-- Name: users users_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY users_delete ON public.users FOR DELETE USING ((tenant_id = public.app_current_tenant()));

--
-- Name: users users_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY users_insert ON public.users FOR INSERT WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: users users_platform_sign_in; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY users_platform_sign_in ON public.users FOR SELECT TO fleetgate_owner USING (true);

--
-- Name: users users_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY users_select ON public.users FOR SELECT USING ((tenant_id = public.app_current_tenant()));

--
-- Name: users users_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY users_update ON public.users FOR UPDATE USING ((tenant_id = public.app_current_tenant())) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: workspace_file_grants; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.workspace_file_grants ENABLE ROW LEVEL SECURITY;

--
-- Name: workspace_file_grants workspace_file_grants_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_file_grants_delete ON public.workspace_file_grants FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: workspace_file_grants workspace_file_grants_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_file_grants_insert ON public.workspace_file_grants FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: workspace_file_grants workspace_file_grants_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_file_grants_select ON public.workspace_file_grants FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (agent_id = public.app_current_agent()))));

--
-- Name: workspace_file_grants workspace_file_grants_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_file_grants_update ON public.workspace_file_grants FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL))) WITH CHECK (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: workspace_files; Type: ROW SECURITY; Schema: public; Owner: fleetgate_owner
--

ALTER TABLE public.workspace_files ENABLE ROW LEVEL SECURITY;

--
-- Name: workspace_files workspace_files_delete; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_files_delete ON public.workspace_files FOR DELETE USING (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: workspace_files workspace_files_insert; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_files_insert ON public.workspace_files FOR INSERT WITH CHECK (((tenant_id = public.app_current_tenant()) AND (public.app_current_agent() IS NULL)));

--
-- Name: workspace_files workspace_files_select; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_files_select ON public.workspace_files FOR SELECT USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (EXISTS ( SELECT
   FROM public.workspace_file_grants g
  WHERE ((g.file_id = workspace_files.id) AND (g.agent_id = public.app_current_agent())))))));

--
-- Name: workspace_files workspace_files_update; Type: POLICY; Schema: public; Owner: fleetgate_owner
--

CREATE POLICY workspace_files_update ON public.workspace_files FOR UPDATE USING (((tenant_id = public.app_current_tenant()) AND ((public.app_current_agent() IS NULL) OR (EXISTS ( SELECT
   FROM public.workspace_file_grants g
  WHERE ((g.file_id = workspace_files.id) AND (g.agent_id = public.app_current_agent()) AND (g.mode = 'WRITE'::text))))))) WITH CHECK ((tenant_id = public.app_current_tenant()));

--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

GRANT ALL ON SCHEMA public TO fleetgate_owner;

--
-- Name: FUNCTION advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb) TO fleetgate_app;

--
-- Name: FUNCTION agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_provider text, p_wrapped_key text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_provider text, p_wrapped_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.agent_memory_create_key(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_provider text, p_wrapped_key text) TO fleetgate_app;

--
-- Name: FUNCTION agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.agent_memory_entry(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_key text) TO fleetgate_app;

--
-- Name: FUNCTION agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer, p_expires_at timestamp with time zone, p_now timestamp with time zone); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer, p_expires_at timestamp with time zone, p_now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.agent_memory_upsert(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer, p_id uuid, p_key text, p_tags jsonb, p_ciphertext bytea, p_key_id uuid, p_size_bytes integer, p_expires_at timestamp with time zone, p_now timestamp with time zone) TO fleetgate_app;

--
-- Name: FUNCTION agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.agent_memory_write_context(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) TO fleetgate_app;

--
-- Name: FUNCTION agents_schedule_memory_purge(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.agents_schedule_memory_purge() FROM PUBLIC;

--
-- Name: FUNCTION app_current_agent(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.app_current_agent() TO fleetgate_app;

--
-- Name: FUNCTION app_current_tenant(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.app_current_tenant() TO fleetgate_app;

--
-- Name: FUNCTION app_is_operator(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.app_is_operator() TO fleetgate_app;

--
-- Name: FUNCTION audit_drop_through(p_tenant uuid, p_seq bigint); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.audit_drop_through(p_tenant uuid, p_seq bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION public.audit_drop_through(p_tenant uuid, p_seq bigint) TO fleetgate_app;

--
-- Name: FUNCTION audit_events_chain(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.audit_events_chain() FROM PUBLIC;

--
-- Name: FUNCTION audit_refuse_change(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.audit_refuse_change() FROM PUBLIC;

--
-- Name: FUNCTION cancel_tenant_deletion(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.cancel_tenant_deletion(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.cancel_tenant_deletion(p_tenant uuid) TO fleetgate_app;

--
-- Name: FUNCTION claim_job(p_worker text, p_lease_seconds integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.claim_job(p_worker text, p_lease_seconds integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.claim_job(p_worker text, p_lease_seconds integer) TO fleetgate_app;

--
-- Name: FUNCTION client_app_versions_notify(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.client_app_versions_notify() FROM PUBLIC;

--
-- Name: FUNCTION credentials_below_key_version(p_version integer, p_limit integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.credentials_below_key_version(p_version integer, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.credentials_below_key_version(p_version integer, p_limit integer) TO fleetgate_app;

--
-- Name: FUNCTION credentials_count_below_key_version(p_version integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.credentials_count_below_key_version(p_version integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.credentials_count_below_key_version(p_version integer) TO fleetgate_app;

--
-- Name: FUNCTION database_region(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.database_region() TO fleetgate_app;

--
-- Name: FUNCTION destroy_tenant_keys(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.destroy_tenant_keys(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.destroy_tenant_keys(p_tenant uuid) TO fleetgate_app;

--
-- Name: PROCEDURE enable_agent_rls(VARIADIC tables text[]); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON PROCEDURE public.enable_agent_rls(VARIADIC tables text[]) FROM PUBLIC;

--
-- Name: PROCEDURE enable_members_only_rls(IN tbl text, IN select_cond text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON PROCEDURE public.enable_members_only_rls(IN tbl text, IN select_cond text) FROM PUBLIC;

--
-- Name: PROCEDURE enable_tenant_rls(VARIADIC tables text[]); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON PROCEDURE public.enable_tenant_rls(VARIADIC tables text[]) FROM PUBLIC;

--
-- Name: FUNCTION enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.enter_agent_request(p_tenant_id uuid, p_agent_id uuid, p_search_path text, p_generation integer) TO fleetgate_app;

--
-- Name: FUNCTION enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.enter_user_read(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) TO fleetgate_app;

--
-- Name: FUNCTION enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.enter_user_request(p_tenant_id uuid, p_user_id uuid, p_search_path text, p_version integer, p_session_id uuid) TO fleetgate_app;

--
-- Name: FUNCTION erase_tenant_rows(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.erase_tenant_rows(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.erase_tenant_rows(p_tenant uuid) TO fleetgate_app;

--
-- Name: FUNCTION expire_overdue_tasks(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.expire_overdue_tasks() FROM PUBLIC;
GRANT ALL ON FUNCTION public.expire_overdue_tasks() TO fleetgate_app;

--
-- Name: FUNCTION finish_tenant_deletion(p_tenant uuid, p_certificate jsonb); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.finish_tenant_deletion(p_tenant uuid, p_certificate jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.finish_tenant_deletion(p_tenant uuid, p_certificate jsonb) TO fleetgate_app;

--
-- Name: FUNCTION isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean) FROM PUBLIC;
GRANT ALL ON FUNCTION public.isolation_canary_outcomes(p_after uuid, p_before uuid, p_limit integer, p_oldest_first boolean) TO fleetgate_app;

--
-- Name: FUNCTION jobs_announce(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.jobs_announce() FROM PUBLIC;

--
-- Name: FUNCTION lock_tenant_deletion(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.lock_tenant_deletion(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.lock_tenant_deletion(p_tenant uuid) TO fleetgate_app;

--
-- Name: FUNCTION memory_escrow_below_key_version(p_version integer, p_limit integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_escrow_below_key_version(p_version integer, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.memory_escrow_below_key_version(p_version integer, p_limit integer) TO fleetgate_app;

--
-- Name: FUNCTION memory_escrow_count_below_key_version(p_version integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_escrow_count_below_key_version(p_version integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.memory_escrow_count_below_key_version(p_version integer) TO fleetgate_app;

--
-- Name: FUNCTION memory_key_escrow_follow(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_key_escrow_follow() FROM PUBLIC;

--
-- Name: FUNCTION memory_keys_below_key_version(p_version integer, p_limit integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_keys_below_key_version(p_version integer, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.memory_keys_below_key_version(p_version integer, p_limit integer) TO fleetgate_app;

--
-- Name: FUNCTION memory_keys_count_below_key_version(p_version integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_keys_count_below_key_version(p_version integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.memory_keys_count_below_key_version(p_version integer) TO fleetgate_app;

--
-- Name: FUNCTION memory_maintenance_tenants(p_now timestamp with time zone); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.memory_maintenance_tenants(p_now timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.memory_maintenance_tenants(p_now timestamp with time zone) TO fleetgate_app;

--
-- Name: FUNCTION note_tenant_deletion_failure(p_tenant uuid, p_error text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.note_tenant_deletion_failure(p_tenant uuid, p_error text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.note_tenant_deletion_failure(p_tenant uuid, p_error text) TO fleetgate_app;

--
-- Name: FUNCTION notify_live_change(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.notify_live_change() FROM PUBLIC;

--
-- Name: FUNCTION notify_user_liveness(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.notify_user_liveness() FROM PUBLIC;

--
-- Name: FUNCTION oidc_connections_of(p_issuer text, p_client_ids text[]); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.oidc_connections_of(p_issuer text, p_client_ids text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION public.oidc_connections_of(p_issuer text, p_client_ids text[]) TO fleetgate_app;

--
-- Name: FUNCTION platform_client_app_versions_notify(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.platform_client_app_versions_notify() FROM PUBLIC;

--
-- Name: FUNCTION platform_oidc_connections_of(p_issuer text, p_client_ids text[]); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.platform_oidc_connections_of(p_issuer text, p_client_ids text[]) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_oidc_connections_of(p_issuer text, p_client_ids text[]) TO fleetgate_app;

--
-- Name: FUNCTION platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.platform_oidc_member_tenants(p_issuer text, p_subject text, p_email text) TO fleetgate_app;

--
-- Name: FUNCTION provision_tenant_schema(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.provision_tenant_schema(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.provision_tenant_schema(p_tenant uuid) TO fleetgate_app;

--
-- Name: FUNCTION purge_task_history(p_tenant uuid, p_limit integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.purge_task_history(p_tenant uuid, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.purge_task_history(p_tenant uuid, p_limit integer) TO fleetgate_app;

--
-- Name: FUNCTION request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer) TO fleetgate_app;

--
-- Name: FUNCTION restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION public.restore_tenant_rows(p_tenant uuid, p_schema text, p_data jsonb) TO fleetgate_app;

--
-- Name: FUNCTION rewrap_memory_escrow(p_agent uuid, p_old text, p_new text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.rewrap_memory_escrow(p_agent uuid, p_old text, p_new text) TO fleetgate_app;

--
-- Name: FUNCTION runtime_agents(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.runtime_agents() FROM PUBLIC;
GRANT ALL ON FUNCTION public.runtime_agents() TO fleetgate_app;

--
-- Name: FUNCTION sharing_keys_below_key_version(p_version integer, p_limit integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.sharing_keys_below_key_version(p_version integer, p_limit integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.sharing_keys_below_key_version(p_version integer, p_limit integer) TO fleetgate_app;

--
-- Name: FUNCTION sharing_keys_count_below_key_version(p_version integer); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.sharing_keys_count_below_key_version(p_version integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.sharing_keys_count_below_key_version(p_version integer) TO fleetgate_app;

--
-- Name: FUNCTION sync_tenant_schema(p_tenant uuid, p_schema text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.sync_tenant_schema(p_tenant uuid, p_schema text) FROM PUBLIC;

--
-- Name: FUNCTION task_history_tenants(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.task_history_tenants() FROM PUBLIC;
GRANT ALL ON FUNCTION public.task_history_tenants() TO fleetgate_app;

--
-- Name: FUNCTION tasks_announce(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tasks_announce() FROM PUBLIC;

--
-- Name: FUNCTION tenant_backup_tables(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.tenant_backup_tables() TO fleetgate_app;

--
-- Name: FUNCTION tenant_data_schema(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tenant_data_schema(p_tenant uuid) FROM PUBLIC;

--
-- Name: FUNCTION tenant_rows_stay_in_their_tier(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tenant_rows_stay_in_their_tier() FROM PUBLIC;

--
-- Name: FUNCTION tenant_schemas(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tenant_schemas() FROM PUBLIC;

--
-- Name: FUNCTION tenant_tables(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.tenant_tables() TO fleetgate_app;

--
-- Name: FUNCTION tenant_tables_in_fk_order(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tenant_tables_in_fk_order() FROM PUBLIC;

--
-- Name: FUNCTION tenants_count_rows(); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.tenants_count_rows() FROM PUBLIC;

--
-- Name: FUNCTION upgrade_tenant_to_enterprise(p_tenant uuid); Type: ACL; Schema: public; Owner: fleetgate_owner
--

REVOKE ALL ON FUNCTION public.upgrade_tenant_to_enterprise(p_tenant uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.upgrade_tenant_to_enterprise(p_tenant uuid) TO fleetgate_app;

--
-- Name: FUNCTION wrapped_key_version(p_wrapped text); Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT ALL ON FUNCTION public.wrapped_key_version(p_wrapped text) TO fleetgate_app;

--
-- Name: TABLE agent_credentials; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.agent_credentials TO fleetgate_app;

--
-- Name: TABLE agent_memory; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.agent_memory TO fleetgate_app;

--
-- Name: TABLE agent_memory_keys; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE ON TABLE public.agent_memory_keys TO fleetgate_app;

--
-- Name: COLUMN agent_memory_keys.wrapped_key; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(wrapped_key) ON TABLE public.agent_memory_keys TO fleetgate_app;

--
-- Name: TABLE agents; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.agents TO fleetgate_app;

--
-- Name: TABLE api_keys; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.api_keys TO fleetgate_app;

--
-- Name: TABLE audit_checkpoints; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.audit_checkpoints TO fleetgate_app;

--
-- Name: TABLE audit_events; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.audit_events TO fleetgate_app;

--
-- Name: TABLE backup_exclusions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT ON TABLE public.backup_exclusions TO fleetgate_app;

--
-- Name: TABLE client_app_versions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.client_app_versions TO fleetgate_app;

--
-- Name: COLUMN client_app_versions.retired_at; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(retired_at) ON TABLE public.client_app_versions TO fleetgate_app;

--
-- Name: TABLE client_apps; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.client_apps TO fleetgate_app;

--
-- Name: TABLE handoffs; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.handoffs TO fleetgate_app;

--
-- Name: TABLE isolation_canary_runs; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE ON TABLE public.isolation_canary_runs TO fleetgate_app;

--
-- Name: TABLE jobs; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.jobs TO fleetgate_app;

--
-- Name: TABLE memory_purges; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE ON TABLE public.memory_purges TO fleetgate_app;

--
-- Name: COLUMN memory_purges.purge_after; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(purge_after) ON TABLE public.memory_purges TO fleetgate_app;

--
-- Name: TABLE oidc_connections; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.oidc_connections TO fleetgate_app;

--
-- Name: TABLE oidc_identities; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.oidc_identities TO fleetgate_app;

--
-- Name: TABLE oidc_token_uses; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.oidc_token_uses TO fleetgate_app;

--
-- Name: TABLE platform_client_app_versions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.platform_client_app_versions TO fleetgate_app;

--
-- Name: COLUMN platform_client_app_versions.retired_at; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(retired_at) ON TABLE public.platform_client_app_versions TO fleetgate_app;

--
-- Name: TABLE platform_client_apps; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.platform_client_apps TO fleetgate_app;

--
-- Name: TABLE platform_oidc_connections; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE ON TABLE public.platform_oidc_connections TO fleetgate_app;

--
-- Name: TABLE region_identity; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT ON TABLE public.region_identity TO fleetgate_app;

--
-- Name: TABLE session_refresh_tokens; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.session_refresh_tokens TO fleetgate_app;

--
-- Name: TABLE sign_in_links; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.sign_in_links TO fleetgate_app;

--
-- Name: TABLE support_grants; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.support_grants TO fleetgate_app;

--
-- Name: COLUMN support_grants.granted_by; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(granted_by) ON TABLE public.support_grants TO fleetgate_app;

--
-- Name: COLUMN support_grants.revoked_at; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(revoked_at) ON TABLE public.support_grants TO fleetgate_app;

--
-- Name: TABLE tasks; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,UPDATE ON TABLE public.tasks TO fleetgate_app;

--
-- Name: TABLE tenant_deletions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT ON TABLE public.tenant_deletions TO fleetgate_app;

--
-- Name: TABLE tenant_schema_exclusions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT ON TABLE public.tenant_schema_exclusions TO fleetgate_app;

--
-- Name: TABLE tenant_sharing_keys; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.tenant_sharing_keys TO fleetgate_app;

--
-- Name: COLUMN tenant_sharing_keys.wrapped_key; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(wrapped_key) ON TABLE public.tenant_sharing_keys TO fleetgate_app;

--
-- Name: TABLE tenants; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.status; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(status) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.audit_retention_days; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(audit_retention_days) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.frozen_reason; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(frozen_reason) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.rate_limit_per_minute; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(rate_limit_per_minute) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.max_agents; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(max_agents) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.max_memory_mb; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(max_memory_mb) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.max_cpu_millis; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(max_cpu_millis) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.memory_retention_days; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(memory_retention_days) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.memory_max_value_bytes; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(memory_max_value_bytes) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.task_retention_days; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(task_retention_days) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.sandbox; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(sandbox) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.workspace_mb; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(workspace_mb) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: COLUMN tenants.max_disk_mb; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT UPDATE(max_disk_mb) ON TABLE public.tenants TO fleetgate_app;

--
-- Name: TABLE user_sessions; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.user_sessions TO fleetgate_app;

--
-- Name: TABLE users; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.users TO fleetgate_app;

--
-- Name: TABLE workspace_file_grants; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.workspace_file_grants TO fleetgate_app;

--
-- Name: TABLE workspace_files; Type: ACL; Schema: public; Owner: fleetgate_owner
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.workspace_files TO fleetgate_app;

--
-- PostgreSQL database dump complete
--

-- Configuration rows

INSERT INTO public.backup_exclusions (table_name, reason) VALUES ('agent_memory_keys', 'crypto-shredding: a deleted agent''s data key must be gone from every copy, so no copy is ever made; a restore opens memory rows with the live keys only');
INSERT INTO public.tenant_schema_exclusions (table_name, reason) VALUES ('jobs', 'the provisioning queue: claim_job() finds the next due job across tenants and returns only its id and tenant; the job itself runs under its tenant''s setting and search_path, so it reads the agent in the tenant schema');
INSERT INTO public.tenant_schema_exclusions (table_name, reason) VALUES ('memory_key_escrow', 'the mirror of every live agent memory key, outside the tenant schemas so that it outlives the loss of one; written only by the owner''s trigger on agent_memory_keys, never backed up');
INSERT INTO public.tenant_schema_exclusions (table_name, reason) VALUES ('oidc_connections', 'sign-in finds the tenants that trust an issuer before any tenant is known (oidc_connections_of); configuration only: issuer, client id, domains, role mapping');
INSERT INTO public.tenant_schema_exclusions (table_name, reason) VALUES ('tenant_deletions', 'platform metadata about a tenant''s erasure; it must outlive the tenant''s own rows and schema');
