import { assertCan } from '../../auth/actions.ts';
import { builder } from '../../builder.ts';
import type { RequestContext } from '../../request/context.ts';
import { cursorConnection } from '../common/index.ts';
import { listCanaryRuns } from './canary-history.service.ts';
import { CANARY_REASONS, type CanaryRun, type StoredCanaryRun } from './canary-run.ts';

const IsolationCanaryOutcome = builder.enumType('IsolationCanaryOutcome', {
  values: {
    OK: { description: 'Every cross-tenant probe was refused and RLS is enabled and forced on every tenant table.' },
    EXPOSED: { description: 'Something leaked: the gateway locked itself down (requests of tenants are refused).' },
    ERROR: { description: 'The run failed before it could tell; the next run tries again.' },
  },
});

const IsolationCanaryReason = builder.enumType('IsolationCanaryReason', {
  description: 'Why a run was not OK, as a fixed code (the finding itself goes to the operators’ logs and audit).',
  values: Object.fromEntries(Object.entries(CANARY_REASONS).map(([code, description]) => [code, { description }])) as {
    [K in keyof typeof CANARY_REASONS]: { description: string };
  },
});

const IsolationCanaryRun = builder.objectRef<CanaryRun & Partial<Pick<StoredCanaryRun, 'replica'>>>('IsolationCanaryRun').implement({
  description: 'The isolation self-test: as one synthetic tenant it attacks another through the API and the database.',
  fields: (t) => ({
    ranAt: t.expose('ranAt', { type: 'DateTime' }),
    outcome: t.expose('outcome', { type: IsolationCanaryOutcome }),
    durationMs: t.exposeInt('durationMs', { description: 'How long the run took, in milliseconds.' }),
    /** Operators only: a replica's name is the platform's internal host name, and tells a tenant nothing it can act on. */
    replica: t.string({
      nullable: true,
      description: 'Operators: the replica that ran it (REPLICA_NAME, default its host name).',
      authScopes: { can: 'platform.isolation.read' },
      resolve: (run) => run.replica ?? null,
    }),
    /** Operators only: the reason points at a weak spot of the walls every tenant shares (see listCanaryRuns). */
    reason: t.field({
      type: IsolationCanaryReason,
      nullable: true,
      description: 'Operators: why the run was not OK; null when it was.',
      authScopes: { can: 'platform.isolation.read' },
      resolve: (run) => run.reason,
    }),
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
  /**
   * Operators see every replica's runs with names and reasons; a tenant's owners and admins see when
   * and how the runs of their region ended (listCanaryRuns says why no more). Members other than
   * those see the last run only (`isolationCanary`).
   */
  isolationCanaryRuns: t.connection({
    type: IsolationCanaryRun,
    description:
      'The isolation canary’s runs, newest first, kept 30 days. Operators: every replica of a region (default the home region). Owners and admins: the runs of their region’s replicas, without replica names or reasons.',
    skipTypeScopes: true,
    authScopes: { $any: { can: 'isolation.read', $all: { can: 'platform.isolation.read' } } },
    args: { region: t.arg.string({ description: 'Operators: a region the gateway serves (see `regions`).' }) },
    resolve: (_root, args, ctx) =>
      cursorConnection(
        args,
        (run: StoredCanaryRun) => run.id,
        (page) => listCanaryRuns(ctx, page, args.region),
      ),
  }),
}));
