-- Live updates: the change feed of agent and task statuses (src/modules/live/live-updates.ts).
--
-- Current bodies, re-applied by migrate() on every run: edit here, never in a numbered migration
-- (migrations/README.md).

-- One notification per row whose status changed (or that came or went), with the row's own tenant:
-- each replica checks it against every subscriber's tenant before delivering it. Sent at commit,
-- never for a rollback, whoever made the change (a request, a job, the agent channel, SQL by hand).
-- TG_ARGV[0] names the kind ('agent' or 'task'). A deleted row says DELETED. `xid` is the writing
-- transaction: a stream drops the changes its subscribe-time read already saw (src/db/snapshot.ts).
CREATE OR REPLACE FUNCTION notify_live_change() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
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
REVOKE EXECUTE ON FUNCTION notify_live_change() FROM PUBLIC;
