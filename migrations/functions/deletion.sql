-- Tenant offboarding, the right to erasure. An owner asks; after a grace period (cancellable until
-- erasure starts) the erasure job removes the tenant's agents, destroys its keys, deletes its backups
-- and then its rows, step by step, each step recorded in tenant_deletions so a failure resumes where
-- it stopped. The audit log stays until its retention drops it behind a signed checkpoint. The app
-- role changes none of this directly: every write goes through these SECURITY DEFINER functions, which
-- check their own preconditions (whose tenant, which role, which step).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- The owner's request: the transaction's own tenant, ACTIVE, and p_user one of its OWNERs (checked
-- here as well as by the gateway's action catalogue). Freezes the tenant for users at commit (the
-- status change is announced on the policy feed like a freeze) and starts the grace period.
CREATE OR REPLACE FUNCTION request_tenant_deletion(p_tenant uuid, p_user uuid, p_grace_seconds integer) RETURNS timestamptz
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
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
$$;
REVOKE EXECUTE ON FUNCTION request_tenant_deletion(uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION request_tenant_deletion(uuid, uuid, integer) TO fleetgate_app;

-- The owner's way back: only while the erasure has not begun (step REQUESTED). The row lock
-- serialises it with the erasure job's first step, so exactly one of them wins.
CREATE OR REPLACE FUNCTION cancel_tenant_deletion(p_tenant uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
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
REVOKE EXECUTE ON FUNCTION cancel_tenant_deletion(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cancel_tenant_deletion(uuid) TO fleetgate_app;

-- The erasure job's first statement in every step's transaction: locks the tenant's deletion row
-- (replicas never run one tenant's steps at the same time) and answers the step reached. Refused
-- unless an operator transaction asks and the grace period is over: a deletion that is not due
-- cannot be advanced by anyone.
CREATE OR REPLACE FUNCTION lock_tenant_deletion(p_tenant uuid) RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
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
REVOKE EXECUTE ON FUNCTION lock_tenant_deletion(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lock_tenant_deletion(uuid) TO fleetgate_app;

-- Records a completed step: only from the step before it (p_from), only for a due deletion, in the
-- transaction that did the step's database work, so the work and its record commit together.
CREATE OR REPLACE FUNCTION advance_tenant_deletion(p_tenant uuid, p_from text, p_to text, p_progress jsonb) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
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
REVOKE EXECUTE ON FUNCTION advance_tenant_deletion(uuid, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION advance_tenant_deletion(uuid, text, text, jsonb) TO fleetgate_app;

-- A failed step, for operators to see; the step's own work was rolled back with its transaction.
CREATE OR REPLACE FUNCTION note_tenant_deletion_failure(p_tenant uuid, p_error text) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF NOT app_is_operator() THEN
    RAISE EXCEPTION 'note_tenant_deletion_failure: operators only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE tenant_deletions SET attempts = attempts + 1, last_error = left(p_error, 500), updated_at = now()
   WHERE tenant_id = p_tenant AND step <> 'CERTIFIED';
END
$$;
REVOKE EXECUTE ON FUNCTION note_tenant_deletion_failure(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION note_tenant_deletion_failure(uuid, text) TO fleetgate_app;

-- Crypto-shredding, step KEYS_DESTROYED: every wrapped data key of the tenant is deleted, in the
-- tier that holds them and in the shared escrow mirror: agent credentials (each row holds its own
-- data key), agent memory keys and their escrow, the tenant's sharing keys. Answers the ids of
-- what was destroyed (sharing keys have no id: the SHA-256 of the wrapped key names them; a
-- wrapped key is no secret without the KEK). Only at step RUNTIME_REMOVED of a due deletion.
CREATE OR REPLACE FUNCTION destroy_tenant_keys(p_tenant uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
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
$$;
REVOKE EXECUTE ON FUNCTION destroy_tenant_keys(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION destroy_tenant_keys(uuid) TO fleetgate_app;

-- Step ROWS_DELETED: every row of the tenant in every tenant table of its tier (children first,
-- tenant_tables_in_fk_order reversed), and in the shared tables that are not copied into tenant schemas
-- (jobs, oidc_connections, memory_key_escrow), except its audit log (audit_events, audit_checkpoints):
-- that is kept until its retention drops it behind a signed checkpoint. Answers the count per table.
-- Only at step BACKUPS_SHREDDED.
CREATE OR REPLACE FUNCTION erase_tenant_rows(p_tenant uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
  AS $$
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
$$;
REVOKE EXECUTE ON FUNCTION erase_tenant_rows(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_tenant_rows(uuid) TO fleetgate_app;

-- The last step: the signed certificate is stored, the tenant becomes DELETED (refused everywhere,
-- announced on the policy feed) and its name, the one piece of its own data on the shared row, is
-- dropped. The row itself stays: its audit log (and that log's retention) hangs off it.
CREATE OR REPLACE FUNCTION finish_tenant_deletion(p_tenant uuid, p_certificate jsonb) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
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
REVOKE EXECUTE ON FUNCTION finish_tenant_deletion(uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION finish_tenant_deletion(uuid, jsonb) TO fleetgate_app;

-- A pending or finished deletion is left only through the functions above (which run as the owner
-- role): the app role cannot set DELETION_PENDING or DELETED itself, and an operator's freeze or
-- unfreeze cannot turn a tenant awaiting erasure (or erased) back into an ACTIVE or FROZEN one
-- behind its deletion row.
CREATE OR REPLACE FUNCTION tenants_guard_deletion_status() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
  AS $$
BEGIN
  IF current_user = 'fleetgate_app' AND NEW.status IS DISTINCT FROM OLD.status
     AND (OLD.status IN ('DELETION_PENDING', 'DELETED') OR NEW.status IN ('DELETION_PENDING', 'DELETED')) THEN
    RAISE EXCEPTION 'a tenant''s deletion status changes only through its deletion' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
