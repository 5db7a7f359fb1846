import { defineEntity, p } from '@mikro-orm/core';
import { ownTenantFilter } from '../../db/tenant-filter.ts';
import { SANDBOX_LEVELS } from '../provisioning/container-runtime.ts';

export const TENANT_PLANS = ['STANDARD', 'ENTERPRISE'] as const;
/** DELETION_PENDING: the owner asked for erasure (grace period); DELETED: erased (see tenant-deletion.service.ts). */
export const TENANT_STATUSES = ['ACTIVE', 'FROZEN', 'DELETION_PENDING', 'DELETED'] as const;

const TenantSchema = defineEntity({
  name: 'Tenant',
  tableName: 'tenants',
  filters: ownTenantFilter,
  properties: {
    id: p.uuid().primary(),
    name: p.string(),
    plan: p.enum(TENANT_PLANS).default('STANDARD'),
    /** The region whose database holds the tenant; fixed at creation (tenants_region_pin, migrations/functions/regions.sql). */
    region: p.string(),
    status: p.enum(TENANT_STATUSES).default('ACTIVE'),
    frozenReason: p.string().nullable(),
    /** When a pending deletion's grace period ends; set and cleared by the database (migrations/functions/deletion.sql). */
    deletionDueAt: p.datetime().nullable().persist(false),
    /** Operations per minute; null: the gateway's default. */
    rateLimitPerMinute: p.integer().nullable(),
    /** Maintained by a database trigger; read-only here. */
    userCount: p.integer().default(0).persist(false),
    agentCount: p.integer().default(0).persist(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Days audit events are kept; older ones are dropped behind a signed checkpoint (30–3650). */
    auditRetentionDays: p.integer().default(365),
    /** Agent quotas; only operators change them (tenants_guard_columns, migrations/functions/tenants.sql). */
    maxAgents: p.integer().default(200),
    maxMemoryMb: p.integer().default(16384),
    maxCpuMillis: p.integer().default(64000),
    /** Total workspace disk of the tenant's agents, MB (the sum of their workspace file systems). */
    maxDiskMb: p.integer().default(204800),
    /** The plan's sandbox level for every agent (GVISOR: a floor no agent can lower); null: the engine's best. */
    sandbox: p.enum(SANDBOX_LEVELS).nullable(),
    /** Size of each agent's workspace file system, MB. */
    workspaceMb: p.integer().default(1024),
    /** Days a deleted agent's (already unreadable) memory rows are kept before the purge (1–3650). */
    memoryRetentionDays: p.integer().default(30),
    /** Days finished tasks (and their results) are kept before the task history purge (1–3650). */
    taskRetentionDays: p.integer().default(90),
    /** Largest memory value (and handoff payload) one entry may hold, bytes (1–1048576); only operators change it. */
    memoryMaxValueBytes: p.integer().default(65536),
  },
});

export class Tenant extends TenantSchema.class {}
TenantSchema.setClass(Tenant);
