import { assertCan, can } from '../../auth/actions.ts';
import type { PageArgs } from '../../db/pagination.ts';
import type { Context } from '../../request/context.ts';
import { inRegion } from '../../request/in-region.ts';
import { badInput } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { regionNamed } from '../tenants/index.ts';
import type { StoredCanaryRun } from './canary-run.ts';
import { operatorCanaryRuns, tenantCanaryOutcomes } from './isolation-canary.store.ts';

/**
 * A page of the isolation canary's history, newest first, as the caller may see it:
 * - operators (`platform.isolation.read`): every replica's runs in one region's database (default the
 *   home region), with the replica's name and the reason of a run that was not OK: both are about
 *   the platform's machines and walls, which are theirs to run;
 * - a tenant's owners and admins (`isolation.read`): the runs of the replicas serving their region,
 *   when and how each ended and how long it took, never the replica (an internal host name) nor the
 *   reason (it points at a weak spot in the walls every tenant shares, and names nothing a tenant
 *   can act on). isolation_canary_outcomes() returns only those columns, so the database holds this
 *   line too. A tenant cannot name a region: its own is the only one whose walls hold its data.
 */
export async function listCanaryRuns(ctx: Context, page: PageArgs, region: string | null | undefined): Promise<StoredCanaryRun[]> {
  for (const cursor of [page.after, page.before]) {
    if (cursor !== undefined && !isUuid(cursor)) throw badInput('Invalid cursor');
  }
  if (can(ctx.principal, 'platform.isolation.read')) {
    return inRegion(ctx, regionNamed(ctx, region), (scope) => operatorCanaryRuns(scope.em, page));
  }
  assertCan(ctx.principal, 'isolation.read');
  if (region !== null && region !== undefined) throw badInput('Only operators choose a region; yours is the one listed', 'region');
  return tenantCanaryOutcomes(ctx.em, page);
}
