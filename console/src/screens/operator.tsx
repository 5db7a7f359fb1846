import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, Status, when } from '../components.tsx';
import {
  ConsoleFreezeTenantDocument,
  ConsolePlatformTenantsDocument,
  type ConsolePlatformTenantsQuery,
  ConsoleUnfreezeTenantDocument,
} from '../gql/graphql.ts';
import { useAction } from '../hooks.ts';

type Tenant = ConsolePlatformTenantsQuery['platformTenants']['edges'][number]['node'];

/** Operators: every tenant's metadata (never its rows), with freeze and unfreeze. */
export function Operator() {
  const [tenants, setTenants] = useState<Tenant[] | undefined>();
  const { error, run } = useAction();
  const load = async () => {
    const answer = await run(() => request(ConsolePlatformTenantsDocument, { first: 100 }));
    if (answer) setTenants(answer.platformTenants.edges.map((edge) => edge.node));
  };
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="operator-title">
      <h1 id="operator-title">Tenants</h1>
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
          </tr>
        </thead>
        <tbody>
          {tenants === undefined ? <SkeletonRows rows={3} columns={8} /> : null}
          {tenants?.map((tenant) => (
            <TenantRow key={tenant.id} tenant={tenant} onChanged={load} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function TenantRow({ tenant, onChanged }: { tenant: Tenant; onChanged: () => void }) {
  const { busy, error, run } = useAction();
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
    </tr>
  );
}
