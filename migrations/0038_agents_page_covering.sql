-- Issue 24: the hot read, a tenant's page of agents (id, name, status: the console's list and the
-- bench's query), is answered from the keyset index alone (an index-only scan) instead of one heap
-- page per agent: a tenant's agents were created over time, so its rows lie on as many pages as it
-- has agents, and at 10,000 tenants those pages are a hundred megabytes of random reads. The
-- included columns are what the page asks most; another selection still uses the index for the
-- keyset and reads the heap. The price: an update of `status` is no longer HOT (`name` already is
-- not: agents_tenant_id_name_key), so a status change writes an entry into each of the table's
-- indexes. Tenant schemas take the new definition in the sync that follows every migration
-- (sync_tenant_schema replaces an index whose definition differs from the shared table's).
DROP INDEX agents_tenant_page;
CREATE INDEX agents_tenant_page ON agents (tenant_id, id) INCLUDE (name, status);
