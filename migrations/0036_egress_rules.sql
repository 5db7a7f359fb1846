-- The egress proxy (issue 21). An egress agent's allow-list: `host:port` rules (exact names or `*.`
-- wildcards; validated by the gateway with parseEgressRule, src/modules/egress/egress-policy.ts). Empty:
-- the proxy refuses every destination. Same walls as every other agent column (RLS per tenant; the
-- gateway writes it only for owners and admins, `agent.egress`).
ALTER TABLE agents
  ADD COLUMN egress_rules text[] NOT NULL DEFAULT '{}' CHECK (cardinality(egress_rules) <= 64);

-- Secret swap: the rules of the hosts a credential may be sent to by the egress proxy. Not empty:
-- the agent gets the placeholder `fgs_ph_<credential id>` instead of the value, and the proxy puts the
-- value into outgoing request headers for these hosts only.
ALTER TABLE agent_credentials
  ADD COLUMN egress_hosts text[] NOT NULL DEFAULT '{}' CHECK (cardinality(egress_hosts) <= 16);
