import { useEffect, useState } from 'preact/hooks';
import { type AgentRow, live, request, watchAgents } from '../api.ts';
import { ErrorNote, Link, SkeletonRows, Status, when } from '../components.tsx';
import { ApiError } from '../errors.ts';
import {
  ConsoleAgentCredentialsDocument,
  type ConsoleAgentCredentialsQuery,
  ConsoleAgentDocument,
  type ConsoleAgentQuery,
  ConsoleAgentStatusDocument,
  ConsoleCreateAgentDocument,
  ConsoleDeleteAgentDocument,
  ConsoleRestartAgentDocument,
  ConsoleStartAgentDocument,
  ConsoleStopAgentDocument,
} from '../gql/graphql.ts';
import { useAction, useLive } from '../hooks.ts';

/** The tenant's agents with their live status, and a form to create one. */
export function Agents() {
  const { data: agents, error } = useLive<AgentRow[]>(watchAgents);
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <CreateAgent />
      {error ? <ErrorNote error={error} /> : null}
      <table>
        <caption class="visually-hidden">Your agents and their status, updated live</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Sandbox</th>
            <th scope="col">Network</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody aria-live="polite">
          {agents === undefined ? <SkeletonRows rows={3} columns={5} /> : null}
          {agents?.length === 0 ? (
            <tr>
              <td colSpan={5}>No agents yet.</td>
            </tr>
          ) : null}
          {agents?.map((agent) => (
            <tr key={agent.id} data-agent={agent.name}>
              <td>
                <Link href={`/console/agents/${encodeURIComponent(agent.id)}`}>{agent.name}</Link>
              </td>
              <td>
                <Status value={agent.status} />
              </td>
              <td>{agent.sandbox.runtime ?? '—'}</td>
              <td>{agent.sandbox.network === 'TENANT' ? 'tenant network' : 'none'}</td>
              <td>{when(agent.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CreateAgent() {
  const { busy, error, run } = useAction();
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const input = { name: String(fields.get('name')), image: String(fields.get('image')) };
    if (await run(() => request(ConsoleCreateAgentDocument, { input }))) form.reset();
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Create an agent">
      <label>
        Name <input name="name" required maxLength={64} autoComplete="off" />
      </label>
      <label>
        Image <input name="image" required defaultValue="fleetgate/agent:1" />
      </label>
      <button type="submit" disabled={busy}>
        Create agent
      </button>
      {error ? <ErrorNote error={error} /> : null}
    </form>
  );
}

type Agent = ConsoleAgentQuery['agent'];

/** One agent: its container posture and credentials (names only); "not found" for any id that is not the tenant's. */
export function AgentDetail({ id }: { id: string }) {
  const [agent, setAgent] = useState<Agent | undefined>();
  const [error, setError] = useState<unknown>();
  const [deleted, setDeleted] = useState(false);
  const [status, setStatus] = useState<string>();
  const action = useAction();
  useEffect(() => {
    setAgent(undefined);
    setError(undefined);
    setStatus(undefined);
    request(ConsoleAgentDocument, { id }).then((data) => setAgent(data.agent), setError);
  }, [id]);
  // Live status once the agent was read as the tenant's (a foreign id never opens a stream).
  const agentId = agent?.id;
  useEffect(
    () =>
      agentId && !deleted
        ? live(ConsoleAgentStatusDocument, { agentId }, (data) => setStatus(data.agentStatusChanged.status), setError)
        : undefined,
    [agentId, deleted],
  );
  const current = status ?? agent?.status;
  type Lifecycle = typeof ConsoleStopAgentDocument | typeof ConsoleStartAgentDocument | typeof ConsoleRestartAgentDocument;
  const lifecycle = async (document: Lifecycle) => {
    if (!agent) return;
    const answer = (await action.run(() => request(document as typeof ConsoleStopAgentDocument, { id: agent.id }))) as
      | Record<string, { agent: { status: string } }>
      | undefined;
    const changed = answer ? Object.values(answer)[0] : undefined;
    if (changed) setStatus(changed.agent.status);
  };
  const remove = async () => {
    if (!agent || !confirm(`Delete agent ${agent.name}? Its memory is destroyed.`)) return;
    try {
      await request(ConsoleDeleteAgentDocument, { id: agent.id });
      setDeleted(true);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section aria-labelledby="agent-title">
      <p>
        <Link href="/console/agents">← All agents</Link>
      </p>
      <h1 id="agent-title">{agent?.name ?? (error ? 'Agent' : <span class="placeholder">Agent…</span>)}</h1>
      {error ? <ErrorNote error={error} /> : null}
      {deleted ? <p role="status">Deleted. Its container is being removed.</p> : null}
      {agent && !deleted ? (
        <>
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd data-testid="agent-status">
                <Status value={current ?? agent.status} /> {status === undefined ? (agent.statusReason ?? '') : ''}
              </dd>
            </div>
            <div>
              <dt>Image</dt>
              <dd>{agent.image}</dd>
            </div>
            <div>
              <dt>Sandbox</dt>
              <dd>{agent.sandbox.runtime ?? agent.sandbox.requested ?? 'RUNC (plan default)'}</dd>
            </div>
            <div>
              <dt>Network</dt>
              <dd>{agent.sandbox.network === 'TENANT' ? "the tenant's own network" : 'none (loopback only)'}</dd>
            </div>
            <div>
              <dt>Limits</dt>
              <dd>
                {agent.runtime.cpuMillis / 1000} CPU, {agent.runtime.memoryMb} MB, {agent.runtime.pidsLimit} processes
              </dd>
            </div>
            <div>
              <dt>Credentials</dt>
              <dd>
                <Credentials id={agent.id} />
              </dd>
            </div>
          </dl>
          <div class="inline-form">
            {current === 'RUNNING' || current === 'PROVISIONING' ? (
              <button type="button" disabled={action.busy} onClick={() => lifecycle(ConsoleStopAgentDocument)}>
                Stop
              </button>
            ) : (
              <button type="button" disabled={action.busy} onClick={() => lifecycle(ConsoleStartAgentDocument)}>
                Start
              </button>
            )}
            <button type="button" disabled={action.busy || current !== 'RUNNING'} onClick={() => lifecycle(ConsoleRestartAgentDocument)}>
              Restart
            </button>
            <button type="button" class="danger" onClick={remove}>
              Delete agent
            </button>
          </div>
          {action.error ? <ErrorNote error={action.error} /> : null}
          <RecentTasks tasks={agent.tasks.edges.map((edge) => edge.node)} />
        </>
      ) : null}
    </section>
  );
}

/** The agent's last ten tasks, newest first: status and times only (a task's input and result are the tenant's data, not the console's). */
function RecentTasks({ tasks }: { tasks: Agent['tasks']['edges'][number]['node'][] }) {
  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">Recent tasks</h2>
      {tasks.length === 0 ? (
        <p>No tasks yet.</p>
      ) : (
        <table data-testid="recent-tasks">
          <thead>
            <tr>
              <th scope="col">Asked</th>
              <th scope="col">Status</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {[...tasks].reverse().map((task) => (
              <tr key={task.id}>
                <td>{when(task.createdAt)}</td>
                <td>
                  <Status value={task.status} />
                </td>
                <td>{when(task.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

type Credential = ConsoleAgentCredentialsQuery['agent']['credentials'][number];

/** The agent's credentials by name and version; members and viewers are told they are for owners and admins. */
function Credentials({ id }: { id: string }) {
  const [credentials, setCredentials] = useState<Credential[] | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    request(ConsoleAgentCredentialsDocument, { id }).then((data) => setCredentials(data.agent.credentials), setError);
  }, [id]);
  if (error instanceof ApiError && error.code === 'FORBIDDEN') return <>listed for owners and admins</>;
  if (error) return <ErrorNote error={error} />;
  if (!credentials) return <span class="placeholder">…</span>;
  return <>{credentials.length ? credentials.map((each) => `${each.name} (v${each.version})`).join(', ') : 'none'}</>;
}
