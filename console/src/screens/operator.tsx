import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, Status, when } from '../components.tsx';
import {
  ConsoleBackupTenantDocument,
  type ConsoleBackupTenantMutation,
  ConsoleCreateEnterpriseTenantDocument,
  ConsoleCreateSignUpInviteDocument,
  ConsoleFreezeTenantDocument,
  ConsolePlatformTenantsDocument,
  type ConsolePlatformTenantsQuery,
  ConsoleUnfreezeTenantDocument,
} from '../gql/graphql.ts';
import { useAction } from '../hooks.ts';
import { CanaryHistory } from './canary.tsx';

type Tenant = ConsolePlatformTenantsQuery['platformTenants']['edges'][number]['node'];

/** Operators: every tenant's metadata (never its rows), with freeze and unfreeze. */
export function Operator() {
  const [tenants, setTenants] = useState<Tenant[] | undefined>();
  const [regions, setRegions] = useState<string[]>([]);
  const [backup, setBackup] = useState<{ tenant: string; archive: ConsoleBackupTenantMutation['backupTenant'] }>();
  const { error, run } = useAction();
  const load = async () => {
    const answer = await run(() => request(ConsolePlatformTenantsDocument, { first: 100 }));
    if (answer) {
      setTenants(answer.platformTenants.edges.map((edge) => edge.node));
      setRegions(answer.regions);
    }
  };
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Tenants</h1>
      <Gateway />
      <p class="hint">Metadata only: an operator never reads a tenant's rows.</p>
      {error ? <ErrorNote error={error} /> : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Plan</th>
            <th scope="col">Region</th>
            <th scope="col">Status</th>
            <th scope="col">Members</th>
            <th scope="col">Agents</th>
            <th scope="col">Since</th>
            <th scope="col">Freeze</th>
            <th scope="col">Backup</th>
          </tr>
        </thead>
        <tbody>
          {tenants === undefined ? <SkeletonRows rows={3} columns={9} /> : null}
          {tenants?.map((tenant) => (
            <TenantRow
              key={tenant.id}
              tenant={tenant}
              onChanged={load}
              onBackup={(archive) => setBackup({ tenant: tenant.name, archive })}
            />
          ))}
        </tbody>
      </table>
      {backup ? (
        <p role="status" data-testid="backup">
          Backup of {backup.tenant}: <code>{backup.archive.backupId}</code>, {backup.archive.bytes} bytes, SHA-256{' '}
          <code>{backup.archive.sha256.slice(0, 16)}…</code>, {Object.keys(backup.archive.rows).length} tables (row counts only).
        </p>
      ) : null}
      <CanaryHistory />
      <Onboarding regions={regions} onCreated={load} />
    </section>
  );
}

/**
 * This gateway's readiness as its load balancer sees it (`/readyz`, no credential): locked down after
 * the isolation canary found an exposure, degraded, draining, or ok. Read once when the view opens.
 */
function Gateway() {
  const [report, setReport] = useState<{ status: string; ready: boolean } | undefined>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    fetch('/readyz', { credentials: 'omit' })
      .then((response) => response.json() as Promise<{ status: string; ready: boolean }>)
      .then(setReport, () => setFailed(true));
  }, []);
  const words: Record<string, string> = {
    ok: 'Ready: serving every tenant.',
    degraded: 'Degraded: serving, with a dependency down (see /readyz).',
    draining: 'Draining: shutting down.',
    'locked-down': 'LOCKED DOWN: the isolation canary found an exposure; every tenant request is refused.',
    'not-ready': 'Not ready.',
  };
  return (
    <p role="status" data-testid="gateway-state" class={report?.status === 'locked-down' ? 'freeze freeze-on' : 'freeze freeze-off'}>
      {failed ? 'This gateway’s readiness could not be read.' : report ? (words[report.status] ?? report.status) : '…'}
    </p>
  );
}

/** New tenants: a standard tenant's owner signs up with an invitation; an enterprise tenant is created here with its owner's link. */
function Onboarding({ regions, onCreated }: { regions: string[]; onCreated: () => void }) {
  const action = useAction();
  const [shown, setShown] = useState<{ label: string; value: string }>();
  const invite = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const email = String(new FormData(form).get('email'));
    const answer = await action.run(() => request(ConsoleCreateSignUpInviteDocument, { email }));
    if (answer) {
      setShown({ label: `Invitation for ${email}, valid 7 days: they sign up with it as inviteToken`, value: answer.createSignUpInvite });
      form.reset();
    }
  };
  const enterprise = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const input = {
      tenantName: String(fields.get('tenantName')),
      owner: { email: String(fields.get('ownerEmail')), name: String(fields.get('ownerName')) },
      region: String(fields.get('region') ?? '') || null,
    };
    const answer = await action.run(() => request(ConsoleCreateEnterpriseTenantDocument, { input }));
    if (answer) {
      const { tenant, ownerSignInLink } = answer.createEnterpriseTenant;
      setShown({
        label: `${tenant.name}’s owner sign-in link, valid 15 minutes`,
        value: `${location.origin}/console#link=${ownerSignInLink.token}`,
      });
      form.reset();
      onCreated();
    }
  };
  return (
    <>
      <h2>Onboarding</h2>
      <form class="inline-form" onSubmit={invite} aria-label="Invite a standard tenant’s owner">
        <label>
          Owner email <input name="email" type="email" required autoComplete="off" />
        </label>
        <button type="submit" disabled={action.busy}>
          Invite a standard tenant
        </button>
      </form>
      <form class="inline-form" onSubmit={enterprise} aria-label="Create an enterprise tenant">
        <label>
          Tenant name <input name="tenantName" required maxLength={100} autoComplete="off" />
        </label>
        <label>
          Owner’s email <input name="ownerEmail" type="email" required autoComplete="off" />
        </label>
        <label>
          Owner’s name <input name="ownerName" required maxLength={200} autoComplete="off" />
        </label>
        <label>
          Region{' '}
          <select name="region">
            {regions.map((region) => (
              <option key={region} value={region}>
                {region}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={action.busy}>
          Create an enterprise tenant
        </button>
      </form>
      {action.error ? <ErrorNote error={action.error} /> : null}
      {shown ? (
        <p class="once" role="status">
          {shown.label} (shown once, copy it now): <code data-testid="shown-once">{shown.value}</code>
        </p>
      ) : null}
    </>
  );
}

function TenantRow({
  tenant,
  onChanged,
  onBackup,
}: {
  tenant: Tenant;
  onChanged: () => void;
  onBackup: (archive: ConsoleBackupTenantMutation['backupTenant']) => void;
}) {
  const { busy, error, run } = useAction();
  const backup = useAction();
  const act = async (event: SubmitEvent) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget as HTMLFormElement).get('reason') ?? '');
    const done = await run<unknown>(() =>
      tenant.status === 'FROZEN'
        ? request(ConsoleUnfreezeTenantDocument, { id: tenant.id })
        : request(ConsoleFreezeTenantDocument, { id: tenant.id, reason }),
    );
    if (done) onChanged();
  };
  return (
    <tr data-tenant={tenant.name}>
      <td>{tenant.name}</td>
      <td>{tenant.plan.toLowerCase()}</td>
      <td>{tenant.region}</td>
      <td>
        <Status value={tenant.status} /> {tenant.frozenReason ?? ''}
      </td>
      <td>{tenant.memberCount}</td>
      <td>{tenant.agentCount}</td>
      <td>{when(tenant.createdAt)}</td>
      <td>
        <form class="row-form" onSubmit={act} aria-label={`Freeze or unfreeze ${tenant.name}`}>
          {tenant.status === 'FROZEN' ? null : (
            <label>
              <span class="visually-hidden">Reason to freeze {tenant.name}</span>
              <input name="reason" required placeholder="reason" maxLength={200} />
            </label>
          )}
          <button type="submit" disabled={busy} class={tenant.status === 'FROZEN' ? '' : 'danger'}>
            {tenant.status === 'FROZEN' ? 'Unfreeze' : 'Freeze'}
          </button>
          {error ? <ErrorNote error={error} /> : null}
        </form>
      </td>
      <td>
        <button
          type="button"
          disabled={backup.busy}
          onClick={async () => {
            const answer = await backup.run(() => request(ConsoleBackupTenantDocument, { id: tenant.id }));
            if (answer) onBackup(answer.backupTenant);
          }}
        >
          Back up
        </button>
        {backup.error ? <ErrorNote error={backup.error} /> : null}
      </td>
    </tr>
  );
}
