import type { Region } from '../db/regions.ts';
import { forkForPrincipal } from '../db/request-scope.ts';
import { notFound } from '../shared/errors.ts';
import type { Context } from './context.ts';

/**
 * Runs a request's work in a region: in the request's own transaction when it is the request's
 * region, else in a transaction of its own in that region's database, under the same principal
 * (its settings, filters and audit writer), committed when the work returns. Only for operations
 * whose whole effect is this work (one root field: onboarding, an operator's action on a tenant),
 * since the request's own transaction commits or rolls back separately.
 */
export async function inRegion<T>(ctx: Context, region: Region, work: (scope: Context) => Promise<T>): Promise<T> {
  if (region === ctx.region) return work(ctx);
  return forkForPrincipal(region.orm, ctx.principal).transactional((em) => work({ ...ctx, em, region }));
}

/** inRegion for an operator's action on one tenant, in the tenant's region; a tenant no region holds is NOT_FOUND. */
export async function inTenantRegion<T>(ctx: Context, tenantId: string, work: (scope: Context) => Promise<T>): Promise<T> {
  const region = await ctx.regions.locate(tenantId);
  if (!region) throw notFound('Tenant', tenantId);
  return inRegion(ctx, region, work);
}
