import { useEffect, useState } from 'preact/hooks';
import { request, watch } from '../api.ts';
import { ErrorNote, SkeletonRows, Status, when } from '../components.tsx';
import {
  ConsoleCanaryRunsDocument,
  type ConsoleCanaryRunsQuery,
  ConsoleOperatorCanaryRunsDocument,
  type ConsoleOperatorCanaryRunsQuery,
} from '../gql/graphql.ts';
import { useLive } from '../hooks.ts';

/** The canary runs once a minute by default (CANARY_INTERVAL_SECONDS) and no stream announces a run: read every 30 s. */
const CANARY_READ_MS = 30_000;

type TenantRun = ConsoleCanaryRunsQuery['isolationCanaryRuns']['edges'][number]['node'];
type OperatorRun = ConsoleOperatorCanaryRunsQuery['isolationCanaryRuns']['edges'][number]['node'];

const OUTCOME_WORDS: Record<TenantRun['outcome'], string> = {
  OK: 'passed',
  EXPOSED: 'found an exposure',
  ERROR: 'could not run',
};

/** A tenant's owners and admins: the last runs of the isolation self-test in their region (when, how it ended), newest first. */
export function CanaryRuns() {
  const { data, error } = useLive<TenantRun[]>((onData, onError) =>
    watch(
      ConsoleCanaryRunsDocument,
      { first: 10 },
      (answer) => onData(answer.isolationCanaryRuns.edges.map((edge) => edge.node)),
      onError,
      CANARY_READ_MS,
    ),
  );
  return (
    <>
      <h2 id="canary-runs-title">Isolation self-test, last runs</h2>
      <p class="hint">Every gateway replica serving your region attacks one synthetic tenant from another, about once a minute.</p>
      {error && !data ? <ErrorNote error={error} /> : null}
      <table aria-labelledby="canary-runs-title" data-testid="canary-runs">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Outcome</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {data === undefined && !error ? <SkeletonRows rows={3} columns={3} /> : null}
          {data?.length === 0 ? (
            <tr>
              <td colSpan={3}>No run recorded yet.</td>
            </tr>
          ) : null}
          {data?.map((run) => (
            <tr key={run.ranAt} data-outcome={run.outcome}>
              <td>{when(run.ranAt)}</td>
              <td>
                <Status value={run.outcome} /> {OUTCOME_WORDS[run.outcome]}
              </td>
              <td>{seconds(run.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * Operators: the canary's history per replica of a region (names and reasons are theirs alone), from
 * its last 100 runs: each replica's last run, and its last run that was not OK with the reason code.
 */
export function CanaryHistory() {
  const [region, setRegion] = useState<string | null>(null);
  const [answer, setAnswer] = useState<ConsoleOperatorCanaryRunsQuery>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const read = () =>
      request(ConsoleOperatorCanaryRunsDocument, { first: 100, region }).then(
        (data) => {
          setAnswer(data);
          setError(undefined);
        },
        (caught: unknown) => setError(caught),
      );
    void read();
    const timer = setInterval(read, CANARY_READ_MS);
    return () => clearInterval(timer);
  }, [region]);
  const replicas = answer ? byReplica(answer.isolationCanaryRuns.edges.map((edge) => edge.node)) : undefined;
  return (
    <>
      <h2 id="canary-history-title">Isolation canary, per replica</h2>
      {answer && answer.regions.length > 1 ? (
        <label>
          Region{' '}
          <select value={region ?? answer.regions[0]} onChange={(event) => setRegion(event.currentTarget.value)}>
            {answer.regions.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
      <table aria-labelledby="canary-history-title" data-testid="canary-history">
        <thead>
          <tr>
            <th scope="col">Replica</th>
            <th scope="col">Last run</th>
            <th scope="col">Runs (OK / not OK)</th>
            <th scope="col">Last not OK</th>
          </tr>
        </thead>
        <tbody>
          {replicas === undefined && !error ? <SkeletonRows rows={1} columns={4} /> : null}
          {replicas?.length === 0 ? (
            <tr>
              <td colSpan={4}>No run recorded yet.</td>
            </tr>
          ) : null}
          {replicas?.map(({ replica, runs }) => {
            const [last] = runs;
            const failed = runs.find((run) => run.outcome !== 'OK');
            return (
              <tr key={replica} data-replica={replica}>
                <td>
                  <code>{replica}</code>
                </td>
                <td>
                  {last ? (
                    <>
                      <Status value={last.outcome} /> {when(last.ranAt)}, {seconds(last.durationMs)}
                    </>
                  ) : null}
                </td>
                <td>
                  {runs.length - runs.filter((run) => run.outcome !== 'OK').length} / {runs.filter((run) => run.outcome !== 'OK').length}
                </td>
                <td>{failed ? `${failed.reason ?? failed.outcome} (${when(failed.ranAt)})` : 'none'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="hint">
        The last 100 runs of the region, kept 30 days. A finding’s detail is in the gateway’s log and the canary tenants’ audit.
      </p>
    </>
  );
}

/** Runs grouped by replica, each newest first, replicas by name. */
function byReplica(runs: OperatorRun[]): { replica: string; runs: OperatorRun[] }[] {
  const groups = new Map<string, OperatorRun[]>();
  for (const run of runs) {
    const name = run.replica ?? '?';
    groups.set(name, [...(groups.get(name) ?? []), run]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([replica, each]) => ({ replica, runs: each }));
}

function seconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}
