import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const AGENT_STATUSES = ['CREATED', 'PROVISIONING', 'RUNNING', 'STOPPED', 'FAILED', 'DELETING'] as const;

const AgentSchema = defineEntity({
  name: 'Agent',
  tableName: 'agents',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.string(),
    description: p.string().default(''),
    image: p.string(),
    config: p.json<Record<string, unknown>>(),
    status: p.enum(AGENT_STATUSES).default('CREATED'),
    /** The creating actor, `USER:<id>` or `API_KEY:<id>`. */
    createdBy: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

export class Agent extends AgentSchema.class {}
AgentSchema.setClass(Agent);
