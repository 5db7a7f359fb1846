import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

/**
 * One credential of one agent: ciphertext only (see src/keys/envelope.ts and migrations/0005). The value
 * exists in the clear only while it is sealed, and while an agent start decrypts it for delivery.
 */
const AgentCredentialSchema = defineEntity({
  name: 'AgentCredential',
  tableName: 'agent_credentials',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    agentId: p.uuid(),
    name: p.string(),
    /** 1 on set, +1 on every rotation; bound into the ciphertext. */
    version: p.integer(),
    ciphertext: p.blob(),
    nonce: p.blob(),
    /** The data key, wrapped by the key provider's KEK (`local:vN:…` or `vault:vN:…`). */
    wrappedKey: p.string(),
    keyVersion: p.integer(),
    fingerprint: p.string(),
    /**
     * Secret swap (issue 21): `host:port` rules of the hosts the egress proxy may send the value to.
     * Not empty: the agent's process gets the placeholder `fgs_ph_<id>` instead of the value.
     */
    egressHosts: p.array().default([]),
    createdAt: p.datetime().onCreate(() => new Date()),
    rotatedAt: p.datetime().nullable(),
  },
});

export class AgentCredential extends AgentCredentialSchema.class {}
AgentCredentialSchema.setClass(AgentCredential);
