import { useEffect, useState } from 'preact/hooks';
import { readOnChange, request, tenantFrozen } from '../api.ts';
import { ErrorNote, SkeletonRows, Status, when } from '../components.tsx';
import { ApiError, wordsFor } from '../errors.ts';
import {
  ConsoleAgentsChangedDocument,
  ConsoleIsolationDocument,
  type ConsoleIsolationQuery,
  ConsoleKeyStatusDocument,
  type ConsoleKeyStatusQuery,
} from '../gql/graphql.ts';
import { useLive } from '../hooks.ts';
import { CanaryRuns } from './canary.tsx';

type Data = ConsoleIsolationQuery;
type KeyStatus = ConsoleKeyStatusQuery['tenantKeyStatus'];

/** The key provider is asked at most once a minute (Vault in production); a rotation's rewrap takes minutes anyway. */
const KEYS_READ_MS = 60_000;
/** For the last canary run, which no stream announces (the canary runs about once a minute). */
const ISOLATION_READ_MS = 30_000;

/**
 * The tenant's four walls and their state, its freeze state, tier and region. Read again when the
 * tenant's agents change (`agentsChanged`: their sandboxes), when its freeze state changes (the
 * console's `tenantStatus` stream) and every 30 s for the canary's last run; not polled otherwise.
 * Owners and admins also see the canary's last runs and their data keys per key version.
 */
export function Isolation() {
  const { data, error } = useLive<Data>((onData, onError) =>
    readOnChange(ConsoleIsolationDocument, {}, onData, onError, { changes: ConsoleAgentsChangedDocument, everyMs: ISOLATION_READ_MS }),
  );
  const accountable = data ? data.me.role === 'OWNER' || data.me.role === 'ADMIN' : undefined;
  const keys = useKeyStatus(accountable);
  const refused = tenantFrozen();
  const frozen = refused !== undefined || data?.tenant.status === 'FROZEN';
  const reason = refused?.reason ?? data?.tenant.frozenReason;
  return (
    <section aria-labelledby="isolation-title">
      <h1 id="isolation-title">Isolation at a glance</h1>
      {error && !(error instanceof ApiError && error.code === 'TENANT_FROZEN') ? <ErrorNote error={error} /> : null}
      <div class={`freeze ${frozen ? 'freeze-on' : 'freeze-off'}`} role="status" aria-live="polite" data-testid="freeze-state">
        {frozen ? (
          <>
            <strong>Frozen.</strong> Every request for this tenant is refused and its agents are stopped
            {reason ? ` (reason: ${reason})` : ''}. An operator unfreezes it.
          </>
        ) : data ? (
          <>
            <strong>Active.</strong> Requests are served; no freeze is in force.
          </>
        ) : (
          <span class="placeholder">Reading the freeze state…</span>
        )}
      </div>
      <dl class="facts">
        <Fact label="Tenant" value={data?.tenant.name} />
        <Fact label="Status" value={data ? <Status value={frozen ? 'FROZEN' : data.tenant.status} /> : undefined} />
        <Fact label="Tier" value={data ? tierOf(data.tenant.plan) : undefined} />
        <Fact label="Region" value={data?.tenant.region} />
        <Fact label="Signed in as" value={data ? `${data.me.name} (${data.me.role.toLowerCase()})` : undefined} />
        <Fact label="Since" value={data ? when(data.tenant.createdAt) : undefined} />
        <Fact label="Last isolation self-test" value={data ? canaryWords(data.isolationCanary) : undefined} />
        <Fact label="Encryption keys" value={keys.error ? wordsFor(keys.error) : keys.data ? keyWords(keys.data) : undefined} />
      </dl>
      <h2>The four walls</h2>
      <ol class="walls">
        <Wall title="1. Resolver scopes" state={data ? 'enforced' : undefined}>
          Every field declares who may call it; anything undeclared is denied. Your role:{' '}
          <strong>{data?.me.role.toLowerCase() ?? '…'}</strong>.
        </Wall>
        <Wall title="2. ORM tenant filter" state={data ? 'enforced' : undefined}>
          Every read and write is filtered by your tenant id, taken from your session, never from what a request sends.
        </Wall>
        <Wall title="3. Postgres row-level security" state={data ? 'forced' : undefined}>
          Forced on every tenant table, for a database role that owns no table and cannot bypass it.
          {data?.tenant.plan === 'ENTERPRISE' ? ' Your data also lives in a database schema of its own.' : ''}
        </Wall>
        <Wall title="4. Agent sandbox" state={data ? sandboxState(data) : undefined}>
          One hardened container per agent: no capabilities, read-only root, non-root user. {data ? sandboxSummary(data) : ''}
        </Wall>
      </ol>
      {accountable ? <DataKeys keys={keys.data} /> : null}
      {accountable ? <CanaryRuns /> : null}
    </section>
  );
}

/**
 * The key provider and KEK versions behind the tenant's credentials and memory (never key material),
 * once the member's role is known: owners and admins also get their data keys' counts per version.
 */
function useKeyStatus(accountable: boolean | undefined) {
  const [data, setData] = useState<KeyStatus | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (accountable === undefined) return;
    const read = () =>
      request(ConsoleKeyStatusDocument, { withCounts: accountable }).then(
        (answer) => {
          setData(answer.tenantKeyStatus);
          setError(undefined);
        },
        (caught: unknown) => setError(caught),
      );
    void read();
    const timer = setInterval(read, KEYS_READ_MS);
    return () => clearInterval(timer);
  }, [accountable]);
  return { data, error };
}

function keyWords(keys: KeyStatus): string {
  const provider = keys.provider === 'vault' ? 'HashiCorp Vault Transit' : 'local keyring';
  const retired = keys.minDecryptionVersion > 1 ? `, versions below ${keys.minDecryptionVersion} retired` : '';
  return `${provider}, key version ${keys.latestVersion}${retired}`;
}

/** Owners and admins: how many of the tenant's data keys each key version still wraps (a rotation's progress). */
function DataKeys({ keys }: { keys: KeyStatus | undefined }) {
  const rows = keys?.dataKeys;
  return (
    <>
      <h2 id="data-keys-title">Your data keys per key version</h2>
      <p class="hint">
        Each secret and each agent’s memory has a data key of its own, wrapped by the key-encryption key. After a rotation they are
        rewrapped in the background; older versions retire once none is left under them.
      </p>
      <table aria-labelledby="data-keys-title" data-testid="data-keys">
        <thead>
          <tr>
            <th scope="col">Key version</th>
            <th scope="col">Data keys</th>
            <th scope="col">Credentials</th>
            <th scope="col">Agent memory</th>
            <th scope="col">Sharing</th>
          </tr>
        </thead>
        <tbody>
          {rows ? null : <SkeletonRows rows={1} columns={5} />}
          {rows?.map((row) => (
            <tr key={row.version} data-version={row.version}>
              <td>
                v{row.version}
                {keys && row.version === keys.latestVersion ? ' (current)' : ''}
              </td>
              <td>{row.total}</td>
              <td>{row.credentials}</td>
              <td>{row.agentMemory}</td>
              <td>{row.sharing}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Fact({ label, value }: { label: string; value: preact.ComponentChildren | undefined }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value ?? <span class="placeholder">…</span>}</dd>
    </div>
  );
}

function Wall({ title, state, children }: { title: string; state: string | undefined; children: preact.ComponentChildren }) {
  return (
    <li class="wall">
      <h3>{title}</h3>
      <p class="wall-state">{state ?? <span class="placeholder">…</span>}</p>
      <p>{children}</p>
    </li>
  );
}

/** The canary attacks one synthetic tenant from another, through the API and the database, on every replica. */
function canaryWords(run: Data['isolationCanary']): string {
  if (!run) return 'not run on this gateway yet';
  const outcome = {
    OK: 'passed: every cross-tenant probe was refused',
    EXPOSED: 'FOUND AN EXPOSURE: the gateway locked itself down',
    ERROR: 'could not run',
  }[run.outcome];
  return `${outcome} (${when(run.ranAt)})`;
}

function tierOf(plan: string): string {
  return plan === 'ENTERPRISE' ? 'Enterprise (own database schema)' : 'Standard (shared tables, row-level security)';
}

/** The plan's floor: GVISOR required, else gVisor wherever the engine offers it (egress agents and the smallest run under runc). */
function sandboxState(data: Data): string {
  return data.tenant.quotas.sandbox === 'GVISOR' ? 'gVisor required for every agent' : 'gVisor by default, runc allowed';
}

function sandboxSummary(data: Data): string {
  const agents = data.agents.edges.map((edge) => edge.node);
  const count = (test: (agent: (typeof agents)[number]) => boolean) => agents.filter(test).length;
  if (agents.length === 0) return 'No agents yet.';
  return (
    `Your ${agents.length} agent(s): ${count((agent) => agent.sandbox.runtime === 'RUNC')} under runc, ` +
    `${count((agent) => agent.sandbox.runtime === 'GVISOR')} under gVisor, ${count((agent) => agent.sandbox.runtime === null)} not started yet; ` +
    `${count((agent) => agent.sandbox.network === 'TENANT')} on the tenant's own network, the others with none.`
  );
}
