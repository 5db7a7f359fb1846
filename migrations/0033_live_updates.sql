-- Live updates (issue 18): every change of an agent's or a task's status notifies `fleetgate_live`
-- with the row's tenant, id and new status, at commit and never for a rollback, whoever makes it.
-- Each replica's change feed hears it and hands it to the subscriptions of that agent or task
-- (src/modules/live). sync_tenant_schema copies the triggers into every enterprise tenant's schema
-- by name. The function's live body is in migrations/functions/live.sql; it is created here for the
-- triggers to name (migrations/README.md).
CREATE OR REPLACE FUNCTION notify_live_change() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
  -- An upgrade to the enterprise tier moves the rows (upgrade_tenant_to_enterprise): nothing was deleted.
  IF TG_OP = 'DELETE' AND current_setting('fleetgate.tenant_move', true) = r ->> 'tenant_id' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('fleetgate_live', json_build_object(
    'kind', TG_ARGV[0],
    'tenantId', r ->> 'tenant_id',
    'id', r ->> 'id',
    'agentId', coalesce(r ->> 'agent_id', r ->> 'id'),
    'status', CASE WHEN TG_OP = 'DELETE' THEN 'DELETED' ELSE r ->> 'status' END,
    'at', clock_timestamp())::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER agents_live_created AFTER INSERT ON agents FOR EACH ROW EXECUTE FUNCTION notify_live_change('agent');
CREATE TRIGGER agents_live_status AFTER UPDATE OF status ON agents FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_live_change('agent');
CREATE TRIGGER agents_live_deleted AFTER DELETE ON agents FOR EACH ROW EXECUTE FUNCTION notify_live_change('agent');
CREATE TRIGGER tasks_live_created AFTER INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION notify_live_change('task');
CREATE TRIGGER tasks_live_status AFTER UPDATE OF status ON tasks FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_live_change('task');
