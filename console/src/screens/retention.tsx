import { useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import {
  ConsoleCancelTenantDeletionDocument,
  ConsolePendingPurgesDocument,
  ConsoleRequestTenantDeletionDocument,
  ConsoleTenantRetentionDocument,
  type ConsoleTenantRetentionQuery,
} from '../gql/graphql.ts';
import { useAction, useQuery } from '../hooks.ts';

/**
 * Retention and deletion: how long the tenant's data is kept, which deleted agents' memory awaits
 * its purge, and the tenant's own deletion (owners request it, with a typed confirmation, and may
 * cancel it until the erasure begins). While a deletion is pending only this screen's tenant read,
 * the cancellation and the audit report still work: the gateway refuses everything else.
 */
export function Retention() {
  const tenant = useQuery(() => request(ConsoleTenantRetentionDocument, {}));
  const retention = tenant.data?.tenant.retention;
  return (
    <section aria-labelledby="retention-title">
      <h1 id="retention-title">Retention and deletion</h1>
      {tenant.error ? <ErrorNote error={tenant.error} /> : null}
      <dl class="facts">
        <Fact label="Audit events kept" value={retention ? `${retention.auditDays} days` : undefined} />
        <Fact label="Deleted agents’ memory purged after" value={retention ? `${retention.memoryPurgeDays} days` : undefined} />
        <Fact label="Finished tasks kept" value={retention ? `${retention.taskHistoryDays} days` : undefined} />
      </dl>
      <Purges />
      <Deletion tenant={tenant.data?.tenant} reload={tenant.reload} />
    </section>
  );
}

function Purges() {
  const { data, error } = useQuery(() => request(ConsolePendingPurgesDocument, {}));
  return (
    <>
      <h2>Pending purges</h2>
      {error ? <ErrorNote error={error} /> : null}
      <table>
        <caption class="visually-hidden">Deleted agents whose encrypted memory rows await the purge</caption>
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Deleted</th>
            <th scope="col">Encrypted rows</th>
            <th scope="col">Purged after</th>
          </tr>
        </thead>
        <tbody>
          {data === undefined && !error ? <SkeletonRows rows={1} columns={4} /> : null}
          {data?.pendingMemoryPurges.length === 0 ? (
            <tr>
              <td colSpan={4}>Nothing awaits a purge.</td>
            </tr>
          ) : null}
          {data?.pendingMemoryPurges.map((purge) => (
            <tr key={purge.agentId} data-purge={purge.agentId}>
              <td>
                <code>{purge.agentId}</code>
              </td>
              <td>{when(purge.deletedAt)}</td>
              <td>{purge.entries}</td>
              <td>{when(purge.purgeAfter)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">A deleted agent’s key is destroyed at once, so these rows are unreadable already; the purge removes them.</p>
    </>
  );
}

type Tenant = ConsoleTenantRetentionQuery['tenant'];

function Deletion({ tenant, reload }: { tenant: Tenant | undefined; reload: () => Promise<void> }) {
  const action = useAction();
  const [typed, setTyped] = useState('');
  const pending = tenant?.deletionDueAt ?? null;
  const requestDeletion = async (event: SubmitEvent) => {
    event.preventDefault();
    if (await action.run(() => request(ConsoleRequestTenantDeletionDocument, {}))) {
      setTyped('');
      await reload();
    }
  };
  const cancel = async () => {
    if (await action.run(() => request(ConsoleCancelTenantDeletionDocument, {}))) await reload();
  };
  return (
    <>
      <h2>Delete this tenant</h2>
      <p role="status" aria-live="polite" data-testid="deletion-state" class={pending ? 'freeze freeze-on' : 'freeze freeze-off'}>
        {tenant === undefined
          ? '…'
          : pending
            ? `Deletion pending: everything is erased on ${when(pending)}. Until then only owners can cancel it and download the audit report.`
            : 'No deletion requested.'}
      </p>
      {action.error ? <ErrorNote error={action.error} /> : null}
      {tenant && pending ? (
        <button type="button" disabled={action.busy} onClick={cancel}>
          Cancel the deletion
        </button>
      ) : null}
      {tenant && !pending ? (
        <form class="inline-form" onSubmit={requestDeletion} aria-label="Request the tenant’s deletion">
          <label>
            Type the tenant’s name, {tenant.name}, to confirm{' '}
            <input
              name="confirm"
              autoComplete="off"
              value={typed}
              onInput={(event) => setTyped((event.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="danger" disabled={action.busy || typed !== tenant.name}>
            Request deletion
          </button>
        </form>
      ) : null}
      <p class="hint">
        Owners only. Agents, memory, credentials and the audit log are erased after the grace period; a signed certificate records it.
      </p>
    </>
  );
}

function Fact({ label, value }: { label: string; value: string | undefined }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value ?? <span class="placeholder">…</span>}</dd>
    </div>
  );
}
