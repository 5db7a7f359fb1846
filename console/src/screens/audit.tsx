import { useEffect, useState } from 'preact/hooks';
import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import type { Words } from '../errors.ts';
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

/** The filter form's fields as typed, and as kept in the address bar (`/console/audit?actorId=…&from=2026-01-31`), so a link shares the view. */
const FIELDS = ['action', 'actorType', 'actorId', 'targetId', 'outcome', 'from', 'to'] as const;
type Fields = Record<(typeof FIELDS)[number], string>;
const ACTOR_TYPES = ['USER', 'API_KEY', 'AGENT', 'OPERATOR', 'SUPPORT', 'SYSTEM', 'ANONYMOUS'];
const OUTCOMES = ['SUCCESS', 'DENIED', 'FAILED'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function fieldsFromUrl(): Fields {
  const query = new URLSearchParams(location.search);
  return Object.fromEntries(FIELDS.map((name) => [name, query.get(name) ?? ''])) as Fields;
}

function urlOf(fields: Fields): string {
  const query = new URLSearchParams(FIELDS.filter((name) => fields[name].trim() !== '').map((name) => [name, fields[name].trim()]));
  return `${location.pathname}${query.size > 0 ? `?${query}` : ''}`;
}

/** A day as the filter takes it: its first instant, UTC (the signed report uses the same days). */
function dayStart(day: string): number {
  return DATE.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
}

/**
 * An id as the audit log stores it: the raw id. A member's, key's or agent's id as the API shows it
 * (a Relay global id, base64 of `Type:id`) is taken too and turned into the raw one.
 */
function rawId(value: string): string {
  const text = value.trim();
  try {
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? atob(text) : '';
    const match = /^[A-Za-z]+:([0-9a-f-]{36})$/.exec(decoded);
    return match?.[1] ?? text;
  } catch {
    return text;
  }
}

/** The filter for the API from the form's fields, or what is wrong with them, in words. */
function filterOf(fields: Fields): { filter: AuditLogFilter } | { problem: string } {
  const from = fields.from.trim();
  const to = fields.to.trim();
  if (from !== '' && Number.isNaN(dayStart(from))) return { problem: '“From” is not a date: use the date picker (YYYY-MM-DD).' };
  if (to !== '' && Number.isNaN(dayStart(to))) return { problem: '“To” is not a date: use the date picker (YYYY-MM-DD).' };
  if (from !== '' && to !== '' && dayStart(to) < dayStart(from)) return { problem: PERIOD_BACKWARDS };
  for (const name of ['actorId', 'targetId', 'action'] as const) {
    if (fields[name].trim().length > 200) return { problem: `“${LABELS[name]}” is longer than 200 characters.` };
  }
  if (fields.actorType !== '' && !ACTOR_TYPES.includes(fields.actorType)) return { problem: 'Choose an actor type from the list.' };
  if (fields.outcome !== '' && !OUTCOMES.includes(fields.outcome)) return { problem: 'Choose an outcome from the list.' };
  const text = (value: string) => value.trim() || null;
  return {
    filter: {
      action: text(fields.action),
      actorType: text(fields.actorType),
      actorId: text(rawId(fields.actorId)),
      targetId: text(rawId(fields.targetId)),
      outcome: text(fields.outcome) as AuditOutcome | null,
      from: from ? new Date(dayStart(from)).toISOString() : null,
      // Up to the end of the last day chosen ([from, to) on the gateway).
      to: to ? new Date(dayStart(to) + DAY_MS).toISOString() : null,
    },
  };
}

const LABELS = { action: 'Action', actorId: 'Actor id', targetId: 'Target id' };
const PERIOD_BACKWARDS = 'The period ends before it starts: choose a “To” date on or after the “From” date.';

/** The gateway's refusals of a filter, in the words of this form. */
const FILTER_WORDS: Words = {
  'BAD_USER_INPUT:to': PERIOD_BACKWARDS,
  'BAD_USER_INPUT:from': '“From” is not a date the gateway understands.',
  'BAD_USER_INPUT:actorId': '“Actor id” is too long (at most 200 characters).',
  'BAD_USER_INPUT:targetId': '“Target id” is too long (at most 200 characters).',
  'BAD_USER_INPUT:action': '“Action” is too long (at most 200 characters).',
  FORBIDDEN: 'Only owners and admins read the audit log.',
};

/**
 * The tenant's audit log, 50 events a page, filtered by action, actor (type and id), target, outcome
 * and period; the filters live in the address bar, so a link shares the view. The chain verification
 * and the signed report cover every event (of the report's period): a hash chain is only checked over
 * consecutive events, so the other filters cannot narrow them; the report takes the filter's period.
 */
export function Audit() {
  const [pages, setPages] = useState<Page[]>([]);
  const [started, setStarted] = useState(false);
  const [fields, setFields] = useState<Fields>(fieldsFromUrl);
  const [applied, setApplied] = useState<Fields>(fieldsFromUrl);
  const [problem, setProblem] = useState<string>();
  const { busy, error, run } = useAction();
  const loading = busy || !started;
  const load = async (after: string | undefined, next: Fields) => {
    const checked = filterOf(next);
    if ('problem' in checked) {
      setProblem(checked.problem);
      setPages([]);
      setStarted(true);
      return;
    }
    setProblem(undefined);
    setStarted(true);
    const answer = await run(() => request(ConsoleAuditLogDocument, { first: 50, after, filter: checked.filter }));
    if (answer) setPages((previous) => (after ? [...previous, answer.auditLog] : [answer.auditLog]));
    else if (!after) setPages([]);
  };
  useEffect(() => void load(undefined, applied), []);
  // Back and forward move between filters like between pages.
  useEffect(() => {
    const follow = () => {
      const next = fieldsFromUrl();
      setFields(next);
      setApplied(next);
      void load(undefined, next);
    };
    addEventListener('popstate', follow);
    return () => removeEventListener('popstate', follow);
  }, []);
  const apply = (next: Fields) => {
    setFields(next);
    setApplied(next);
    const url = urlOf(next);
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    void load(undefined, next);
  };
  const set = (name: keyof Fields) => (event: Event) =>
    setFields({ ...fields, [name]: (event.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const only = (name: 'actorId' | 'targetId', value: string) => apply({ ...applied, [name]: value });
  const events = pages.flatMap((page) => page.edges.map((edge) => edge.node));
  const last = pages.at(-1);
  const filtered = FIELDS.some((name) => applied[name] !== '');
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <Verify />
      <Report from={applied.from} to={applied.to} />
      <h2>Events</h2>
      <form
        class="inline-form"
        noValidate
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          apply(fields);
        }}
      >
        <label>
          Action <input name="action" autoComplete="off" placeholder="e.g. agent.create" value={fields.action} onInput={set('action')} />
        </label>
        <label>
          Actor{' '}
          <select name="actorType" value={fields.actorType} onChange={set('actorType')}>
            <option value="">any</option>
            {ACTOR_TYPES.map((type) => (
              <option key={type} value={type}>
                {type.toLowerCase().replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Actor id <input name="actorId" autoComplete="off" spellcheck={false} value={fields.actorId} onInput={set('actorId')} />
        </label>
        <label>
          Target id <input name="targetId" autoComplete="off" spellcheck={false} value={fields.targetId} onInput={set('targetId')} />
        </label>
        <label>
          Outcome{' '}
          <select name="outcome" value={fields.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="SUCCESS">success</option>
            <option value="DENIED">denied</option>
            <option value="FAILED">failed</option>
          </select>
        </label>
        <label>
          From <input name="from" type="date" value={fields.from} onInput={set('from')} />
        </label>
        <label>
          To <input name="to" type="date" value={fields.to} onInput={set('to')} />
        </label>
        <button type="submit" disabled={busy}>
          Filter
        </button>
        {filtered ? (
          <button
            type="button"
            class="quiet"
            disabled={busy}
            onClick={() => apply(Object.fromEntries(FIELDS.map((name) => [name, ''])) as Fields)}
          >
            Show all events
          </button>
        ) : null}
      </form>
      <p class="hint">
        Days are UTC, both ends included. Ids: the raw id an event shows (press it to filter by it) or a member’s, key’s or agent’s id as
        the API gives it. The address bar keeps the filters: copy it to share this view.
      </p>
      {problem ? (
        <p class="error" role="alert" data-testid="filter-problem">
          {problem}
        </p>
      ) : null}
      {error ? <ErrorNote error={error} words={FILTER_WORDS} /> : null}
      <table>
        <caption class="visually-hidden">Audit events in chain order</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id}>
              <td>{event.seq}</td>
              <td>{when(event.createdAt)}</td>
              <td>{event.action}</td>
              <td>
                {event.actorType} <IdButton id={event.actorId} label="actor" onPick={(id) => only('actorId', id)} />
              </td>
              <td>
                {event.targetType ?? ''}{' '}
                {event.targetId ? <IdButton id={event.targetId} label="target" onPick={(id) => only('targetId', id)} /> : null}
              </td>
              <td>{event.outcome.toLowerCase()}</td>
            </tr>
          ))}
          {loading && events.length === 0 && !problem ? <SkeletonRows rows={5} columns={6} /> : null}
          {!loading && events.length === 0 ? (
            <tr>
              <td colSpan={6}>{problem || error ? 'Fix the filter to see events.' : 'No events match.'}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {last?.pageInfo.hasNextPage ? (
        <button type="button" disabled={loading} onClick={() => void load(last.pageInfo.endCursor ?? undefined, applied)}>
          More events
        </button>
      ) : null}
    </section>
  );
}

/** An id in a row, shortened to its end (ids are time-ordered: their starts look alike); pressing it filters the log by it. */
function IdButton({ id, label, onPick }: { id: string; label: 'actor' | 'target'; onPick: (id: string) => void }) {
  return (
    <button type="button" class="id" title={id} aria-label={`Only events of ${label} ${id}`} onClick={() => onPick(id)}>
      <code>{id.length > 10 ? `…${id.slice(-8)}` : id}</code>
    </button>
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
function Report({ from, to }: { from: string; to: string }) {
  const [files, setFiles] = useState<{ name: string; href: string }[]>([]);
  const [summary, setSummary] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const { busy, error, run } = useAction();
  const prepare = async (event: SubmitEvent) => {
    event.preventDefault();
    const fields = new FormData(event.currentTarget as HTMLFormElement);
    const start = dayStart(String(fields.get('from')));
    const end = dayStart(String(fields.get('to')));
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) {
      setProblem(Number.isNaN(start) || Number.isNaN(end) ? 'Choose both dates of the period.' : PERIOD_BACKWARDS);
      return;
    }
    setProblem(undefined);
    // The report covers [from, to): the whole of the last day chosen.
    const answer = await run(() =>
      request(ConsoleAuditReportDocument, { from: new Date(start).toISOString(), to: new Date(end + DAY_MS).toISOString() }),
    );
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
      {/* The period follows the filter's, when it has one (a new filter resets the form). */}
      <form class="inline-form" noValidate onSubmit={prepare} aria-label="Prepare the signed audit report" key={`${from}/${to}`}>
        <label>
          From <input name="from" type="date" required defaultValue={DATE.test(from) ? from : dateInput(now - 30 * DAY_MS)} />
        </label>
        <label>
          To <input name="to" type="date" required defaultValue={DATE.test(to) ? to : dateInput(now)} />
        </label>
        <button type="submit" disabled={busy}>
          Prepare the signed report
        </button>
      </form>
      <p class="hint">
        Every event of the period, whatever the filters below: a hash chain can only be checked over consecutive events, so a report of one
        actor’s or one outcome’s events could not be verified.
      </p>
      {problem ? (
        <p class="error" role="alert">
          {problem}
        </p>
      ) : null}
      {error ? <ErrorNote error={error} words={{ 'BAD_USER_INPUT:to': PERIOD_BACKWARDS }} /> : null}
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
