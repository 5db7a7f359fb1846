import { assertCan } from '../../auth/actions.ts';
import { builder } from '../../builder.ts';
import type { RequestContext } from '../../request/context.ts';
import type { CanaryRun } from './access-gate.ts';

const IsolationCanaryOutcome = builder.enumType('IsolationCanaryOutcome', {
  values: {
    OK: { description: 'Every cross-tenant probe was refused and RLS is enabled and forced on every tenant table.' },
    EXPOSED: { description: 'Something leaked: the gateway locked itself down (requests of tenants are refused).' },
    ERROR: { description: 'The run failed before it could tell; the next run tries again.' },
  },
});

const IsolationCanaryRun = builder.objectRef<CanaryRun>('IsolationCanaryRun').implement({
  description: 'The isolation self-test: as one synthetic tenant it attacks another through the API and the database.',
  fields: (t) => ({
    ranAt: t.expose('ranAt', { type: 'DateTime' }),
    outcome: t.expose('outcome', { type: IsolationCanaryOutcome }),
  }),
});

/**
 * Every member may see the last run: it tests the walls every tenant shares and names no tenant
 * (what it found goes to the operators' logs and audit, never here).
 */
export function lastCanaryRun(ctx: RequestContext): CanaryRun | null {
  assertCan(ctx.principal, 'tenant.read');
  return ctx.lastCanaryRun() ?? null;
}

builder.queryFields((t) => ({
  isolationCanary: t.field({
    type: IsolationCanaryRun,
    nullable: true,
    description: "This replica's last isolation canary run; null before the first (or where the canary is off).",
    skipTypeScopes: true,
    authScopes: { can: 'tenant.read' },
    resolve: (_root, _args, ctx) => lastCanaryRun(ctx),
  }),
}));
