import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, Status, TypedConfirmation, when } from '../components.tsx';
import type { Words } from '../errors.ts';
import {
  ConsoleBackupTenantDocument,
  type ConsoleBackupTenantMutation,
  ConsoleCreateEnterpriseTenantDocument,
  ConsoleCreateSignUpInviteDocument,
  ConsoleFreezeTenantDocument,
  ConsolePlatformClientAppsDocument,
  ConsolePlatformTenantsDocument,
  type ConsolePlatformTenantsQuery,
  ConsoleRestoreTenantDocument,
  type ConsoleRestoreTenantMutation,
  ConsoleUnfreezeTenantDocument,
  type RestoreTarget,
} from '../gql/graphql.ts';
import { useAction, useQuery } from '../hooks.ts';
import { CanaryHistory } from './canary.tsx';
import { ClientAppVersions } from './client-app-versions.tsx';

/** The version this build's operations are published as (console/build.ts): the one platform version this page never retires. */
declare const __CONSOLE_VERSION__: string;

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
      <Restore tenants={tenants} lastBackup={backup?.archive.backupId} onRestored={load} />
      <PlatformApps />
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

/** The tenant's id inside its global id (base64 of `Tenant:<uuid>`), which starts an archive's name. */
function uuidOf(globalId: string): string {
  try {
    return atob(globalId).replace(/^Tenant:/, '');
  } catch {
    return '';
  }
}

const RESTORE_WORDS: Words = {
  CONFLICT:
    'The target schema is not empty: this archive was already restored into a new schema, or the tenant’s own schema still holds rows (“its own schema” is for after a loss, and for enterprise tenants only).',
  BAD_USER_INPUT: 'This is not an archive this gateway can open: check the backup id (damaged, altered, or another gateway’s).',
  NOT_FOUND: 'No such backup here, or its tenant is gone.',
};

/**
 * Restores a tenant from one of its backups (`restoreTenant`, operators only): into a new schema
 * beside the live one (to inspect or compare), or into the tenant's own, empty, enterprise schema
 * after a loss. The operator types the tenant's name first. The answer is counts and the schema's
 * name, never a row; it says how much agent memory did not come back, and why.
 */
function Restore({ tenants, lastBackup, onRestored }: { tenants: Tenant[] | undefined; lastBackup?: string; onRestored: () => void }) {
  const action = useAction();
  const [backupId, setBackupId] = useState(lastBackup ?? '');
  const [into, setInto] = useState<RestoreTarget>('NEW');
  const [typed, setTyped] = useState('');
  const [result, setResult] = useState<ConsoleRestoreTenantMutation['restoreTenant']>();
  useEffect(() => {
    if (lastBackup) setBackupId(lastBackup);
  }, [lastBackup]);
  const id = backupId.trim();
  const tenant = id.length > 36 ? tenants?.find((each) => uuidOf(each.id) === id.slice(0, 36)) : undefined;
  const restore = async (event: SubmitEvent) => {
    event.preventDefault();
    const answer = await action.run(() => request(ConsoleRestoreTenantDocument, { backupId: id, into }));
    if (answer) {
      setResult(answer.restoreTenant);
      setTyped('');
      onRestored();
    }
  };
  const rows = result ? Object.values(result.rows as Record<string, number>).reduce((sum, count) => sum + count, 0) : 0;
  return (
    <>
      <h2>Restore</h2>
      <form class="inline-form" onSubmit={restore} aria-label="Restore a tenant from a backup">
        <label>
          Backup id{' '}
          <input
            name="backupId"
            required
            autoComplete="off"
            spellcheck={false}
            size={48}
            value={backupId}
            onInput={(event) => setBackupId((event.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <label>
          Into{' '}
          <select name="into" value={into} onChange={(event) => setInto((event.currentTarget as HTMLSelectElement).value as RestoreTarget)}>
            <option value="NEW">a new schema beside the live one (to inspect)</option>
            <option value="SAME">the tenant’s own schema, empty (enterprise, after a loss)</option>
          </select>
        </label>
        <TypedConfirmation
          prompt={tenant ? `Type the tenant’s name, ${tenant.name}, to restore` : 'Type the tenant’s name to restore'}
          typed={typed}
          onTyped={setTyped}
        />
        <button type="submit" class="danger" disabled={action.busy || !tenant || typed !== tenant.name}>
          Restore
        </button>
      </form>
      <p class="hint" data-testid="restore-tenant">
        {id === ''
          ? 'An archive’s name starts with its tenant’s id; “Back up” above fills in the newest one.'
          : tenant
            ? `This archive is of ${tenant.name}.`
            : 'This archive names no tenant listed here.'}
      </p>
      {action.error ? <ErrorNote error={action.error} words={RESTORE_WORDS} /> : null}
      {result ? (
        <div role="status" data-testid="restore">
          <p>
            Restored {result.tenant.name} into schema <code>{result.schema}</code>: {rows} rows in {Object.keys(result.rows).length} tables
            ({(result.rows as Record<string, number>).agents ?? 0} agents). Ids, times and the audit chain are as they were.
          </p>
          <p>
            {result.memoryShreddedAgents > 0
              ? `Memory of ${result.memoryShreddedAgents} agents (${result.memoryShreddedEntries} entries) was not restored: those agents were deleted, or their memory wiped, after the backup. Their data keys were destroyed then, and no archive ever holds a key, so that memory can never be opened again (crypto-shredding).`
              : 'Every agent’s memory in the archive was restored: no agent’s key was destroyed since the backup (no archive holds keys; the live ones open the restored rows).'}
          </p>
        </div>
      ) : null}
    </>
  );
}

/**
 * The platform's client apps (operators): the gateway's own operations (`fleetgate`) and the
 * console's, by version; retiring a version stops its operations on every replica within a second,
 * for every tenant. The version this page runs is marked and never offered for retirement.
 */
function PlatformApps() {
  const { data, error, reload } = useQuery(() => request(ConsolePlatformClientAppsDocument, {}));
  const action = useAction();
  return (
    <>
      <h2>Platform client apps</h2>
      <p class="hint">A retired version’s operations stop running for every tenant, on every replica, within a second.</p>
      <ClientAppVersions
        caption="The platform’s client apps and their published versions"
        apps={data?.clientApps}
        error={error}
        action={action}
        reload={reload}
        platform
        kept={(app, version) => (app.name === 'console' && version === __CONSOLE_VERSION__ ? 'this console' : undefined)}
      />
    </>
  );
}
