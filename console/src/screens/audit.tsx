import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import {
  type AuditLogFilter,
  type AuditOutcome,
  ConsoleAuditLogDocument,
  type ConsoleAuditLogQuery,
  ConsoleAuditReportDocument,
  type ConsoleAuditReportQuery,
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
  const [filter, setFilter] = useState<AuditLogFilter>({});
  const { busy, error, run } = useAction();
  const loading = busy || !started;
  const load = async (after?: string, next = filter) => {
    setStarted(true);
    const answer = await run(() => request(ConsoleAuditLogDocument, { first: 50, after, filter: next }));
    if (answer) setPages((previous) => (after ? [...previous, answer.auditLog] : [answer.auditLog]));
  };
  useEffect(() => void load(), []);
  const applyFilter = (event: SubmitEvent) => {
    event.preventDefault();
    const fields = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(fields.get(name) ?? '').trim() || null;
    const next: AuditLogFilter = {
      action: text('action'),
      actorType: text('actorType'),
      outcome: text('outcome') as AuditOutcome | null,
    };
    setFilter(next);
    void load(undefined, next);
  };
  const events = pages.flatMap((page) => page.edges.map((edge) => edge.node));
  const last = pages.at(-1);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <Verify />
      <Report />
      <h2>Events</h2>
      <form class="inline-form" onSubmit={applyFilter} aria-label="Filter the audit log">
        <label>
          Action <input name="action" autoComplete="off" placeholder="e.g. agent.create" />
        </label>
        <label>
          Actor{' '}
          <select name="actorType">
            <option value="">any</option>
            {['USER', 'API_KEY', 'AGENT', 'OPERATOR', 'SUPPORT', 'SYSTEM', 'ANONYMOUS'].map((type) => (
              <option key={type} value={type}>
                {type.toLowerCase().replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome{' '}
          <select name="outcome">
            <option value="">any</option>
            <option value="SUCCESS">success</option>
            <option value="DENIED">denied</option>
            <option value="FAILED">failed</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Filter
        </button>
      </form>
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
          {!loading && events.length === 0 ? (
            <tr>
              <td colSpan={5}>No events match.</td>
            </tr>
          ) : null}
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

/** The four files of a signed report, named as the offline verifier expects them. */
const FILES = [
  { name: 'report.ndjson', type: 'application/x-ndjson', of: (r: ConsoleAuditReportQuery) => r.exportAuditReport.ndjson },
  { name: 'report.csv', type: 'text/csv', of: (r: ConsoleAuditReportQuery) => r.exportAuditReport.csv },
  { name: 'report.sig.json', type: 'application/json', of: (r: ConsoleAuditReportQuery) => r.exportAuditReport.signatureFile },
  { name: 'public.pem', type: 'application/x-pem-file', of: (r: ConsoleAuditReportQuery) => r.auditSigningKey.publicKeyPem },
];

const DAY_MS = 24 * 60 * 60 * 1000;

function dateInput(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * The signed report of a period, as files (made in the page from the answer: no other request) and
 * the command that verifies them offline, with no gateway and no secret (src/cli/audit-verify.ts).
 */
function Report() {
  const [files, setFiles] = useState<{ name: string; href: string }[]>([]);
  const [summary, setSummary] = useState<string>();
  const { busy, error, run } = useAction();
  const prepare = async (event: SubmitEvent) => {
    event.preventDefault();
    const fields = new FormData(event.currentTarget as HTMLFormElement);
    const from = new Date(String(fields.get('from'))).toISOString();
    // The report covers [from, to): the whole of the last day chosen.
    const to = new Date(Date.parse(String(fields.get('to'))) + DAY_MS).toISOString();
    const answer = await run(() => request(ConsoleAuditReportDocument, { from, to }));
    if (!answer) return;
    for (const file of files) URL.revokeObjectURL(file.href);
    setFiles(FILES.map((file) => ({ name: file.name, href: URL.createObjectURL(new Blob([file.of(answer)], { type: file.type })) })));
    const report = answer.exportAuditReport;
    setSummary(
      `${report.eventCount} events, chain ${report.chainIntact ? 'intact' : 'BROKEN'}, signed by key ${answer.auditSigningKey.keyId}.`,
    );
  };
  const now = Date.now();
  return (
    <div class="report">
      <h2>Signed report</h2>
      <form class="inline-form" onSubmit={prepare} aria-label="Prepare the signed audit report">
        <label>
          From <input name="from" type="date" required defaultValue={dateInput(now - 30 * DAY_MS)} />
        </label>
        <label>
          To <input name="to" type="date" required defaultValue={dateInput(now)} />
        </label>
        <button type="submit" disabled={busy}>
          Prepare the signed report
        </button>
      </form>
      {error ? <ErrorNote error={error} /> : null}
      {summary ? (
        <>
          <p role="status" data-testid="report-summary">
            {summary}
          </p>
          <p class="downloads">
            {files.map((file) => (
              <a key={file.name} href={file.href} download={file.name}>
                {file.name}
              </a>
            ))}
          </p>
          <p>Verify it offline, with no gateway and no secret, in a checkout of Fleetgate:</p>
          <pre class="command" data-testid="verify-command">
            npm run -s audit:verify -- report.ndjson report.sig.json public.pem report.csv
          </pre>
        </>
      ) : null}
    </div>
  );
}
