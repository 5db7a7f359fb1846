-- Issue 7 benchmark: one index less to write per audit event. audit_events_tenant_page
-- (tenant_id, id) is the data plane's keyset index from 0001, from before the chain. Since 0002 the
-- log is read in chain order on (tenant_id, seq) (the unique constraint audit_events_tenant_seq) or
-- by time on audit_events_tenant_time; the last reader by id, the deprecated auditEvents query,
-- now pages in chain order too. Tenant schemas lose it in the sync that follows every migration
-- (sync_tenant_schema drops the indexes the shared table no longer has, since 0013).
DROP INDEX audit_events_tenant_page;
