import { builder } from '../../builder.ts';
import { inTenantRegion } from '../../request/in-region.ts';
import { SandboxLevel } from '../agents/agent.schema.ts';
import type { Tenant } from '../tenants/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { setTenantQuotas } from './quota.service.ts';

/** A tenant's agent quotas: visible wherever the tenant is (its own principals, operators). */
const TenantQuotasRef = builder.objectRef<Tenant>('TenantQuotas').implement({
  fields: (t) => ({
    maxAgents: t.int({ resolve: (tenant) => tenant.maxAgents }),
    maxMemoryMb: t.int({ description: "Total memory of the tenant's agents, MB.", resolve: (tenant) => tenant.maxMemoryMb }),
    maxCpuMillis: t.int({
      description: "Total CPU of the tenant's agents, thousandths of a CPU.",
      resolve: (tenant) => tenant.maxCpuMillis,
    }),
    maxDiskMb: t.int({
      description: "Total workspace disk of the tenant's agents, MB (each agent's workspace counts its full size).",
      resolve: (tenant) => tenant.maxDiskMb,
    }),
    sandbox: t.field({
      type: SandboxLevel,
      nullable: true,
      description:
        "The plan's sandbox level: GVISOR runs every agent under gVisor (none may ask for RUNC); null: each agent chooses, GVISOR where the engine offers it by default.",
      resolve: (tenant) => tenant.sandbox ?? null,
    }),
    workspaceMb: t.int({ description: "Size of each agent's workspace file system, MB.", resolve: (tenant) => tenant.workspaceMb }),
  }),
});

builder.objectField(TenantRef, 'quotas', (t) => t.field({ type: TenantQuotasRef, resolve: (tenant) => tenant }));

const TenantQuotasInput = builder.inputType('TenantQuotasInput', {
  description: 'Omitted fields keep their value.',
  fields: (t) => ({
    maxAgents: t.int({ description: '0–100000' }),
    maxMemoryMb: t.int({ description: '0–16777216' }),
    maxCpuMillis: t.int({ description: '0–10000000' }),
    maxDiskMb: t.int({ description: '0–1073741824' }),
    sandbox: t.field({ type: SandboxLevel, description: 'Applies to agents at their next start.' }),
    clearSandbox: t.boolean({ description: 'True: no plan level (each agent chooses; GVISOR where offered by default).' }),
    workspaceMb: t.int({ description: '16–1048576; applies to workspaces made from now on.' }),
  }),
});

builder.mutationField('setTenantQuotas', (t) =>
  t.field({
    description: "Operators: the tenant's agent quotas. Audited in the tenant's log.",
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }), input: t.arg({ type: TenantQuotasInput, required: true }) },
    resolve: (_root, { id, input }, ctx) =>
      inTenantRegion(ctx, id.id, (scope) =>
        setTenantQuotas(scope, id.id, {
          maxAgents: input.maxAgents ?? undefined,
          maxMemoryMb: input.maxMemoryMb ?? undefined,
          maxCpuMillis: input.maxCpuMillis ?? undefined,
          maxDiskMb: input.maxDiskMb ?? undefined,
          sandbox: input.clearSandbox ? null : (input.sandbox ?? undefined),
          workspaceMb: input.workspaceMb ?? undefined,
        }),
      ),
  }),
);
