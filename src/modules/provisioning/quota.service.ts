import { z } from 'zod';
import type { RequestScope } from '../../request/scope.ts';
import { parseInput } from '../../shared/validation.ts';
import { changeTenant, type Tenant } from '../tenants/index.ts';
import { SANDBOX_LEVELS } from './container-runtime.ts';

const quotasInput = z
  .object({
    maxAgents: z.number().int().min(0).max(100_000),
    maxMemoryMb: z
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024),
    maxCpuMillis: z.number().int().min(0).max(10_000_000),
    maxDiskMb: z.number().int().min(0).max(1_073_741_824),
    sandbox: z.enum(SANDBOX_LEVELS).nullable(),
    workspaceMb: z.number().int().min(16).max(1_048_576),
  })
  .partial()
  .refine((quotas) => Object.values(quotas).some((value) => value !== undefined), { message: 'give at least one quota' });

/**
 * Operators set a tenant's agent quotas. Operator-only twice over: the service checks
 * `platform.tenants.manage` first (in changeTenant), and the database lets only an operator
 * transaction change these columns (tenants_guard_columns). Audited in the tenant's own log.
 * Lowering a quota below current use stops nothing that runs; it refuses what would exceed it.
 */
export function setTenantQuotas(scope: RequestScope, tenantId: string, input: unknown): Promise<Tenant> {
  const quotas = parseInput(quotasInput, input);
  return changeTenant(scope, tenantId, 'tenant.quotas', (tenant) => {
    const snapshot = () => ({
      maxAgents: tenant.maxAgents,
      maxMemoryMb: tenant.maxMemoryMb,
      maxCpuMillis: tenant.maxCpuMillis,
      maxDiskMb: tenant.maxDiskMb,
      sandbox: tenant.sandbox ?? null,
      workspaceMb: tenant.workspaceMb,
    });
    const before = snapshot();
    tenant.maxAgents = quotas.maxAgents ?? tenant.maxAgents;
    tenant.maxMemoryMb = quotas.maxMemoryMb ?? tenant.maxMemoryMb;
    tenant.maxCpuMillis = quotas.maxCpuMillis ?? tenant.maxCpuMillis;
    tenant.maxDiskMb = quotas.maxDiskMb ?? tenant.maxDiskMb;
    if (quotas.sandbox !== undefined) tenant.sandbox = quotas.sandbox;
    tenant.workspaceMb = quotas.workspaceMb ?? tenant.workspaceMb;
    return { before, after: snapshot() };
  });
}
