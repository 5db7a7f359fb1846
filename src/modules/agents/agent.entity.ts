import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';
import { SANDBOX_LEVELS } from '../provisioning/container-runtime.ts';

export const AGENT_STATUSES = ['CREATED', 'PROVISIONING', 'RUNNING', 'STOPPED', 'FAILED', 'DELETING'] as const;
export const DESIRED_STATES = ['RUNNING', 'STOPPED'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

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
    /** What the tenant asked for; provisioning jobs converge the container to it. */
    desiredState: p.enum(DESIRED_STATES).default('RUNNING'),
    /** One of the allow-listed commands of the image; null runs the image's default. */
    command: p.array().nullable(),
    memoryMb: p.integer().default(64),
    cpuMillis: p.integer().default(250),
    /** On: the container joins its tenant's own bridge network; off: no network at all. */
    egress: p.boolean().default(false),
    /** The egress proxy's allow-list for this agent: `host:port` rules (see egress-policy.ts); empty refuses everything. */
    egressRules: p.array().default([]),
    /** The sandbox level the tenant asked for (RUNC, GVISOR); null: its plan's, else the engine's best. */
    sandbox: p.enum(SANDBOX_LEVELS).nullable(),
    /** The level the engine last ran its container under, and the size its workspace was made with. */
    sandboxRuntime: p.enum(SANDBOX_LEVELS).nullable(),
    workspaceMb: p.integer().nullable(),
    /** Exits of the container in the current crash-loop window (see provisioning/crash-loop.ts). */
    crashCount: p.integer().default(0),
    crashWindowStartedAt: p.datetime().nullable(),
    /** What the engine last reported (see the provisioner and the reconciler). */
    containerId: p.string().nullable(),
    runtimeImage: p.string().nullable(),
    startedAt: p.datetime().nullable(),
    exitCode: p.integer().nullable(),
    statusReason: p.string().nullable(),
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

/** An agent's fields as a plain object: a managed `Agent`, or a row of a read-only list (`findPageRows`). */
export type AgentRecord = { [K in keyof Agent]: Agent[K] };
