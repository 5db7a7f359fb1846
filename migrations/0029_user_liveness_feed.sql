-- The user liveness feed (src/auth/token-liveness.ts): every change that can end a user's tokens
-- notifies `fleetgate_user_liveness` with the user's id, whoever makes it (the API, a job, SQL typed
-- by hand), so each replica forgets what it remembered of that user's tokens and checks them in the
-- database again (enter_user_request). Notifications are sent at commit, never for a rollback.
-- The changes: a users row whose token version moves (a role or status change bumps it, see
-- users_bump_token_version) or that goes, and a session revoked, re-dated or deleted.
-- The trigger's argument names the column that holds the user's id. sync_tenant_schema copies the
-- triggers into every enterprise tenant's schema by name. The function's live body is in
-- migrations/functions/sessions.sql; it is created here for the triggers to name (migrations/README.md).
CREATE OR REPLACE FUNCTION notify_user_liveness() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM pg_notify('fleetgate_user_liveness', to_jsonb(OLD) ->> TG_ARGV[0]);
  RETURN NULL;
END
$$;

CREATE TRIGGER users_liveness_changed AFTER UPDATE ON users FOR EACH ROW
  WHEN (OLD.token_version IS DISTINCT FROM NEW.token_version) EXECUTE FUNCTION notify_user_liveness('id');
CREATE TRIGGER users_liveness_ended AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION notify_user_liveness('id');
CREATE TRIGGER user_sessions_liveness_changed AFTER UPDATE ON user_sessions FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION notify_user_liveness('user_id');
CREATE TRIGGER user_sessions_liveness_ended AFTER DELETE ON user_sessions FOR EACH ROW EXECUTE FUNCTION notify_user_liveness('user_id');
