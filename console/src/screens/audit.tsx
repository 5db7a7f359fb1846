import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import {
  ConsoleAuditLogDocument,
  type ConsoleAuditLogQuery,
  ConsoleVerifyAuditLogDocument,
  type ConsoleVerifyAuditLogQuery,
} from '../gql/graphql.ts';
import { useAction } from '../hooks.ts';

type Page = ConsoleAuditLogQuery['auditLog'];
type Verification = ConsoleVerifyAuditLogQuery['verifyAuditLog'];

/** The tenant's audit log, 50 events a page, and the chain verification. */
export function Audit() {
  const [pages, setPages] = useState<Page[]>([]);
  const [started, setStarted] = useState(false);
  const { busy, error, run } = useAction();
  const loading = busy || !started;
  const load = async (after?: string) => {
    setStarted(true);
    const answer = await run(() => request(ConsoleAuditLogDocument, { first: 50, after }));
    if (answer) setPages((previous) => (after ? [...previous, answer.auditLog] : [answer.auditLog]));
  };
  useEffect(() => void load(), []);
  const events = pages.flatMap((page) => page.edges.map((edge) => edge.node));
  const last = pages.at(-1);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <Verify />
      {error ? <ErrorNote error={error} /> : null}
      <table>
        <caption class="visually-hidden">Audit events in chain order</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Actor</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td>{event.seq}</td>
              <td>{when(event.createdAt)}</td>
              <td>{event.action}</td>
              <td>{event.actorType}</td>
              <td>{event.outcome.toLowerCase()}</td>
            </tr>
          ))}
          {loading && events.length === 0 ? <SkeletonRows rows={5} columns={5} /> : null}
        </tbody>
      </table>
      {last?.pageInfo.hasNextPage ? (
        <button type="button" disabled={loading} onClick={() => void load(last.pageInfo.endCursor ?? undefined)}>
          More events
        </button>
      ) : null}
    </section>
  );
}

function Verify() {
  const [result, setResult] = useState<Verification | undefined>();
  const { busy, error, run } = useAction();
  const verify = async () => {
    const answer = await run(() => request(ConsoleVerifyAuditLogDocument, {}));
    if (answer) setResult(answer.verifyAuditLog);
  };
  return (
    <div class="verify">
      <button type="button" onClick={verify} disabled={busy}>
        Verify the chain
      </button>
      <p role="status" aria-live="polite" data-testid="verification">
        {result
          ? result.intact
            ? `Intact: ${result.eventsChecked} events checked (seq ${result.firstSeq ?? '—'} to ${result.lastSeq ?? '—'}), head ${result.headHash.slice(0, 16)}…`
            : `Broken at seq ${result.brokenAt?.seq} (${result.brokenAt?.reason.toLowerCase()}): the log was altered. Tell an operator.`
          : busy
            ? 'Recomputing every link…'
            : 'Recomputes every event’s hash and link, from the first kept event to the head.'}
      </p>
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
