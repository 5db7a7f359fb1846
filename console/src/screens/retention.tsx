import { useEffect, useState } from 'preact/hooks';
import { RETENTION_DAYS } from '../../../src/shared/retention-days.ts';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, TypedConfirmation, when } from '../components.tsx';
import {
  ConsoleCancelTenantDeletionDocument,
  ConsolePendingPurgesDocument,
  ConsoleRequestTenantDeletionDocument,
  ConsoleRetentionRoleDocument,
  ConsoleSetAuditRetentionDocument,
  ConsoleSetMemoryRetentionDocument,
  ConsoleSetTaskRetentionDocument,
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
  // Refused while a deletion is pending (only `tenant` is readable then): the settings stay read-only.
  const me = useQuery(() => request(ConsoleRetentionRoleDocument, {}));
  const retention = tenant.data?.tenant.retention;
  const role = me.data?.me.role;
  return (
    <section aria-labelledby="retention-title">
      <h1 id="retention-title">Retention and deletion</h1>
      {tenant.error ? <ErrorNote error={tenant.error} /> : null}
      <dl class="facts">
        <Fact label="Audit events kept" value={retention ? `${retention.auditDays} days` : undefined} />
        <Fact label="Deleted agents’ memory purged after" value={retention ? `${retention.memoryPurgeDays} days` : undefined} />
        <Fact label="Finished tasks kept" value={retention ? `${retention.taskHistoryDays} days` : undefined} />
      </dl>
      <Settings tenant={tenant.data?.tenant} editable={role === 'OWNER'} known={role !== undefined} reload={tenant.reload} />
      <Purges />
      <Deletion tenant={tenant.data?.tenant} reload={tenant.reload} />
    </section>
  );
}

/**
 * One retention setting an owner may change: its mutation and its range, which the page enforces
 * before asking (the gateway enforces it again and refuses any other role: `audit.manage`,
 * `memory.retention`, `task.retention` are owners' actions).
 */
interface Setting {
  name: 'audit' | 'memory' | 'task';
  label: string;
  min: number;
  max: number;
  days: (retention: Tenant['retention']) => number;
  save: (days: number) => Promise<unknown>;
  /** What a shorter value does, for the confirmation. */
  shortening: string;
}

const SETTINGS: Setting[] = [
  {
    name: 'audit',
    label: 'Audit events kept',
    ...RETENTION_DAYS.audit,
    days: (retention) => retention.auditDays,
    save: (days) => request(ConsoleSetAuditRetentionDocument, { days }),
    shortening: 'Audit events older than that are dropped for good (behind a signed checkpoint, so the chain still verifies).',
  },
  {
    name: 'memory',
    label: 'Deleted agents’ memory purged after',
    ...RETENTION_DAYS.memory,
    days: (retention) => retention.memoryPurgeDays,
    save: (days) => request(ConsoleSetMemoryRetentionDocument, { days }),
    shortening: 'Rows of deleted agents are purged sooner (their keys are destroyed already).',
  },
  {
    name: 'task',
    label: 'Finished tasks kept',
    ...RETENTION_DAYS.task,
    days: (retention) => retention.taskHistoryDays,
    save: (days) => request(ConsoleSetTaskRetentionDocument, { days }),
    shortening: 'Finished tasks and their results older than that are deleted.',
  },
];

/**
 * Owners change each retention setting; shortening the audit log's asks for the tenant's name first
 * (it drops events). Every role sees the same rows (read-only but for owners), laid out before the
 * answers arrive, so nothing moves when they do.
 */
function Settings({
  tenant,
  editable,
  known,
  reload,
}: {
  tenant: Tenant | undefined;
  editable: boolean;
  known: boolean;
  reload: () => Promise<void>;
}) {
  return (
    <div class="settings">
      <h2>Retention settings</h2>
      <p class="hint" data-testid={known && !editable ? 'retention-read-only' : undefined}>
        {!known
          ? '…'
          : editable
            ? 'Within each range. Shortening the audit log’s retention drops events: you will type the tenant’s name first.'
            : 'Only owners change how long data is kept; you see the settings read-only.'}
      </p>
      {SETTINGS.map((setting) => (
        <SettingForm key={setting.name} setting={setting} tenant={tenant} editable={editable} reload={reload} />
      ))}
    </div>
  );
}

function SettingForm({
  setting,
  tenant,
  editable,
  reload,
}: {
  setting: Setting;
  tenant: Tenant | undefined;
  editable: boolean;
  reload: () => Promise<void>;
}) {
  const current = tenant ? setting.days(tenant.retention) : undefined;
  const [value, setValue] = useState('');
  // The saved value, whenever it arrives or changes.
  useEffect(() => setValue(current === undefined ? '' : String(current)), [current]);
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const action = useAction();
  const days = Number(value);
  const valid = /^\d+$/.test(value.trim()) && days >= setting.min && days <= setting.max;
  // Shortening the audit log's retention drops events: the owner types the tenant's name first.
  const confirming = setting.name === 'audit' && valid && current !== undefined && days < current;
  const range = `${setting.min}–${setting.max}`;
  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!editable) return;
    setSaved(undefined);
    if (!valid) {
      setProblem(`Choose a whole number of days from ${setting.min} to ${setting.max}.`);
      return;
    }
    setProblem(undefined);
    if (await action.run(() => setting.save(days))) {
      setTyped('');
      setSaved(`Saved: ${setting.label.toLowerCase()} ${days} days.`);
      await reload();
    }
  };
  const id = `retention-${setting.name}`;
  return (
    <form onSubmit={save} noValidate aria-label={`Change: ${setting.label}`}>
      <label for={id}>
        {setting.label} (days, {range})
      </label>
      <input
        id={id}
        name="days"
        type="number"
        inputMode="numeric"
        min={setting.min}
        max={setting.max}
        step={1}
        required
        value={value}
        readOnly={!editable}
        aria-describedby={`${id}-range`}
        onInput={(event) => setValue((event.currentTarget as HTMLInputElement).value)}
      />
      <span id={`${id}-range`} class="visually-hidden">
        from {setting.min} to {setting.max} days
      </span>
      {confirming ? (
        <TypedConfirmation
          class="confirm"
          prompt={
            <>
              Shortening from {current} to {days} days: {setting.shortening} Type the tenant’s name, {tenant?.name}, to confirm
            </>
          }
          typed={typed}
          onTyped={setTyped}
        />
      ) : null}
      {editable ? (
        <button type="submit" class={confirming ? 'danger' : ''} disabled={action.busy || (confirming && typed !== tenant?.name)}>
          Save
        </button>
      ) : null}
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {action.error ? (
        <ErrorNote
          error={action.error}
          words={{
            FORBIDDEN: 'The gateway refused: only owners change retention, and your role no longer allows it.',
            'BAD_USER_INPUT:days': `The gateway refused that number of days: choose one from ${setting.min} to ${setting.max}.`,
          }}
        />
      ) : null}
      {saved ? <p role="status">{saved}</p> : null}
    </form>
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
          <TypedConfirmation prompt={`Type the tenant’s name, ${tenant.name}, to confirm`} typed={typed} onTyped={setTyped} />
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
