import { useState } from 'preact/hooks';
import { currentSessionId, request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import {
  type ApiKeyScope,
  ConsoleAddMemberDocument,
  ConsoleApiKeysDocument,
  ConsoleChangeMemberRoleDocument,
  ConsoleClientAppsDocument,
  ConsoleCreateApiKeyDocument,
  ConsoleEndSessionDocument,
  ConsoleGrantSupportDocument,
  ConsoleMemberSessionsDocument,
  ConsoleMembersDocument,
  ConsoleMySessionsDocument,
  ConsoleReinstateMemberDocument,
  ConsoleRemoveMemberDocument,
  ConsoleRevokeApiKeyDocument,
  ConsoleRevokeSupportDocument,
  ConsoleSupportGrantsDocument,
  ConsoleSuspendMemberDocument,
  type UserRole,
} from '../gql/graphql.ts';
import { useAction, useQuery } from '../hooks.ts';
import { ClientAppVersions } from './client-app-versions.tsx';

/**
 * Team and access: members and their roles, this member's sessions, API keys, client apps and
 * support grants, with the identity lifecycle's actions. The gateway decides who may do what (owners
 * and admins manage; admins never act on an owner); a refusal is shown in words where it happened.
 */
export function Team() {
  return (
    <section aria-labelledby="team-title">
      <h1 id="team-title">Team and access</h1>
      <Members />
      <Sessions />
      <ApiKeys />
      <SupportGrants />
      <ClientApps />
    </section>
  );
}

const SCOPE_WORDS: Record<ApiKeyScope, string> = { AGENTS_READ: 'read agents', AGENTS_WRITE: 'write agents' };

const ROLES: UserRole[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'];

function Members() {
  const { data, error, reload } = useQuery(() => request(ConsoleMembersDocument, {}));
  const action = useAction();
  const manages = data?.me.role === 'OWNER' || data?.me.role === 'ADMIN';
  const [added, setAdded] = useState<{ name: string; link: string }>();
  const [open, setOpen] = useState<string>();
  const act = async (work: () => Promise<unknown>) => {
    await action.run(work);
    await reload();
  };
  const add = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const input = { email: String(fields.get('email')), name: String(fields.get('name')), role: String(fields.get('role')) as UserRole };
    const answer = await action.run(() => request(ConsoleAddMemberDocument, { input }));
    if (answer?.addMember.signInToken) {
      setAdded({ name: answer.addMember.member.name, link: `${location.origin}/console#link=${answer.addMember.signInToken}` });
      form.reset();
    }
    await reload();
  };
  return (
    <>
      <h2>Members</h2>
      {manages ? (
        <form class="inline-form" onSubmit={add} aria-label="Add a member">
          <label>
            Email <input name="email" type="email" required autoComplete="off" />
          </label>
          <label>
            Member name <input name="name" required maxLength={200} autoComplete="off" />
          </label>
          <label>
            New member’s role{' '}
            <select name="role">
              {ROLES.map((role) => (
                <option key={role} value={role} selected={role === 'MEMBER'}>
                  {role.toLowerCase()}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={action.busy}>
            Add member
          </button>
        </form>
      ) : null}
      {added ? <ShownOnce label={`${added.name}’s sign-in link, valid 15 minutes`} value={added.link} /> : null}
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      <table>
        <caption class="visually-hidden">The tenant’s members and their roles</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data === undefined && !error ? <SkeletonRows rows={2} columns={5} /> : null}
          {data?.members.edges.flatMap(({ node: member }) => {
            const self = member.id === data.me.id;
            return [
              <tr key={member.id} data-member={member.email}>
                <td>{member.name}</td>
                <td>{member.email}</td>
                <td>
                  {manages && !self ? (
                    <select
                      aria-label={`Role of ${member.name}`}
                      value={member.role}
                      disabled={action.busy}
                      onChange={(event) => {
                        const role = (event.currentTarget as HTMLSelectElement).value as UserRole;
                        void act(() => request(ConsoleChangeMemberRoleDocument, { userId: member.id, role }));
                      }}
                    >
                      {ROLES.map((role) => (
                        <option key={role} value={role}>
                          {role.toLowerCase()}
                        </option>
                      ))}
                    </select>
                  ) : (
                    member.role.toLowerCase()
                  )}
                </td>
                <td>{member.status.toLowerCase()}</td>
                <td class="row-actions">
                  {manages && !self ? (
                    <>
                      {member.status === 'SUSPENDED' ? (
                        <button
                          type="button"
                          disabled={action.busy}
                          onClick={() => act(() => request(ConsoleReinstateMemberDocument, { userId: member.id }))}
                        >
                          Reinstate
                        </button>
                      ) : (
                        <button
                          type="button"
                          disabled={action.busy}
                          onClick={() => act(() => request(ConsoleSuspendMemberDocument, { userId: member.id }))}
                        >
                          Suspend
                        </button>
                      )}
                      <button
                        type="button"
                        aria-expanded={open === member.id}
                        onClick={() => setOpen(open === member.id ? undefined : member.id)}
                      >
                        Sessions
                      </button>
                      <button
                        type="button"
                        class="danger"
                        disabled={action.busy}
                        onClick={() => {
                          if (!confirm(`Remove ${member.name} from the tenant? Their sessions end at once and their API keys are revoked.`))
                            return;
                          void act(() => request(ConsoleRemoveMemberDocument, { userId: member.id }));
                        }}
                      >
                        Remove
                      </button>
                    </>
                  ) : self ? (
                    'you'
                  ) : (
                    '—'
                  )}
                </td>
              </tr>,
              open === member.id ? (
                <tr key={`${member.id}-sessions`}>
                  <td colSpan={5}>
                    <MemberSessions userId={member.id} name={member.name} />
                  </td>
                </tr>
              ) : null,
            ];
          })}
        </tbody>
      </table>
    </>
  );
}

function Sessions() {
  const { data, error, reload } = useQuery(() => request(ConsoleMySessionsDocument, {}));
  const action = useAction();
  const current = currentSessionId();
  const sessions = data?.mySessions.edges.map((edge) => edge.node).filter((session) => !session.revokedAt);
  return (
    <>
      <h2>Your sessions</h2>
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      <table>
        <caption class="visually-hidden">Your open sessions (devices)</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Signed in by</th>
            <th scope="col">Last used</th>
            <th scope="col">Ends</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {sessions === undefined && !error ? <SkeletonRows rows={2} columns={5} /> : null}
          {sessions?.map((session) => (
            <tr key={session.id} data-session={session.deviceLabel}>
              <td>{session.deviceLabel}</td>
              <td>{session.method.toLowerCase().replaceAll('_', ' ')}</td>
              <td>{when(session.lastUsedAt)}</td>
              <td>{when(session.expiresAt)}</td>
              <td>
                {session.id === current ? (
                  'this tab'
                ) : (
                  <RevokeButton action={action} reload={reload} revoke={() => request(ConsoleEndSessionDocument, { id: session.id })} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Owners and admins: one member's open sessions, each revocable (its tokens stop working at once). */
function MemberSessions({ userId, name }: { userId: string; name: string }) {
  const { data, error, reload } = useQuery(() => request(ConsoleMemberSessionsDocument, { userId }));
  const action = useAction();
  const sessions = data?.memberSessions.edges.map((edge) => edge.node).filter((session) => !session.revokedAt);
  return (
    <div data-testid="member-sessions">
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      {sessions === undefined && !error ? <p class="placeholder">…</p> : null}
      {sessions?.length === 0 ? <p>{name} has no open session.</p> : null}
      <ul class="sessions">
        {sessions?.map((session) => (
          <li key={session.id} data-session={session.deviceLabel}>
            {session.deviceLabel}, signed in by {session.method.toLowerCase().replaceAll('_', ' ')}, last used {when(session.lastUsedAt)}{' '}
            <RevokeButton action={action} reload={reload} revoke={() => request(ConsoleEndSessionDocument, { id: session.id })} />
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * The Revoke button of a list row: runs `revoke` through the screen's action (busy while it runs, its
 * error shown by the screen), then reloads the list; with `confirmation`, asks first.
 */
function RevokeButton(props: {
  action: ReturnType<typeof useAction>;
  revoke: () => Promise<unknown>;
  reload: () => unknown;
  confirmation?: string;
}) {
  const { action, revoke, reload, confirmation } = props;
  return (
    <button
      type="button"
      disabled={action.busy}
      onClick={async () => {
        if (confirmation !== undefined && !confirm(confirmation)) return;
        await action.run(revoke);
        await reload();
      }}
    >
      Revoke
    </button>
  );
}

/** A secret the gateway shows once (an API key, a support token): here until the member leaves the screen, never stored. */
function ShownOnce({ label, value }: { label: string; value: string }) {
  return (
    <p class="once" role="status">
      {label} (shown once, copy it now): <code data-testid="shown-once">{value}</code>
    </p>
  );
}

function ApiKeys() {
  const { data, error, reload } = useQuery(() => request(ConsoleApiKeysDocument, {}));
  const action = useAction();
  const [created, setCreated] = useState<string | undefined>();
  const create = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const scopes = fields.getAll('scope').map(String) as ApiKeyScope[];
    const clientApp = String(fields.get('clientApp') ?? '').trim() || null;
    const answer = await action.run(() =>
      request(ConsoleCreateApiKeyDocument, { input: { name: String(fields.get('name')), scopes, clientApp } }),
    );
    if (answer) {
      setCreated(answer.createApiKey.key);
      form.reset();
      await reload();
    }
  };
  const keys = data?.apiKeys.edges.map((edge) => edge.node);
  return (
    <>
      <h2>API keys</h2>
      <form class="inline-form" onSubmit={create} aria-label="Create an API key">
        <label>
          Key name <input name="name" required maxLength={64} autoComplete="off" />
        </label>
        <label>
          <input type="checkbox" name="scope" value="AGENTS_READ" defaultChecked /> read agents
        </label>
        <label>
          <input type="checkbox" name="scope" value="AGENTS_WRITE" /> write agents
        </label>
        <label>
          Client app <input name="clientApp" autoComplete="off" placeholder="optional" />
        </label>
        <button type="submit" disabled={action.busy}>
          Create key
        </button>
      </form>
      {created ? <ShownOnce label="The new key" value={created} /> : null}
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      <table>
        <caption class="visually-hidden">The tenant’s API keys, by name (a key’s secret is never shown again)</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Client app</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys === undefined && !error ? <SkeletonRows rows={1} columns={5} /> : null}
          {keys?.length === 0 ? (
            <tr>
              <td colSpan={5}>No API keys.</td>
            </tr>
          ) : null}
          {keys?.map((key) => (
            <tr key={key.id} data-api-key={key.name}>
              <td>{key.name}</td>
              <td>{key.scopes.map((scope) => SCOPE_WORDS[scope]).join(', ')}</td>
              <td>{key.clientApp ?? 'any'}</td>
              <td>{when(key.createdAt)}</td>
              <td>
                {key.revokedAt ? (
                  `revoked ${when(key.revokedAt)}`
                ) : (
                  <RevokeButton
                    action={action}
                    reload={reload}
                    confirmation={`Revoke the API key ${key.name}? Integrations using it stop at once.`}
                    revoke={() => request(ConsoleRevokeApiKeyDocument, { id: key.id })}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function SupportGrants() {
  const { data, error, reload } = useQuery(() => request(ConsoleSupportGrantsDocument, {}));
  const action = useAction();
  const [token, setToken] = useState<string | undefined>();
  const grant = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const input = {
      supportPrincipal: String(fields.get('principal')),
      reason: String(fields.get('reason')),
      durationMinutes: Number(fields.get('minutes')),
    };
    const answer = await action.run(() => request(ConsoleGrantSupportDocument, { input }));
    if (answer) {
      setToken(answer.grantSupportAccess.token);
      form.reset();
      await reload();
    }
  };
  const grants = data?.supportGrants.edges.map((edge) => edge.node);
  return (
    <>
      <h2>Support access</h2>
      <form class="inline-form" onSubmit={grant} aria-label="Grant support access">
        <label>
          Support person <input name="principal" required maxLength={200} autoComplete="off" />
        </label>
        <label>
          Reason <input name="reason" required maxLength={500} autoComplete="off" />
        </label>
        <label>
          Minutes <input name="minutes" type="number" min={5} max={10080} required defaultValue="60" />
        </label>
        <button type="submit" disabled={action.busy}>
          Grant read-only access
        </button>
      </form>
      {token ? <ShownOnce label="The support token" value={token} /> : null}
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      <table>
        <caption class="visually-hidden">Time-bound, read-only support grants</caption>
        <thead>
          <tr>
            <th scope="col">Support person</th>
            <th scope="col">Reason</th>
            <th scope="col">Ends</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {grants === undefined && !error ? <SkeletonRows rows={1} columns={4} /> : null}
          {grants?.length === 0 ? (
            <tr>
              <td colSpan={4}>No support grants.</td>
            </tr>
          ) : null}
          {grants?.map((each) => (
            <tr key={each.id} data-grant={each.supportPrincipal}>
              <td>{each.supportPrincipal}</td>
              <td>{each.reason}</td>
              <td>{when(each.expiresAt)}</td>
              <td>
                {each.revokedAt ? (
                  `revoked ${when(each.revokedAt)}`
                ) : Date.parse(each.expiresAt) < Date.now() ? (
                  'expired'
                ) : (
                  <RevokeButton action={action} reload={reload} revoke={() => request(ConsoleRevokeSupportDocument, { id: each.id })} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ClientApps() {
  const { data, error, reload } = useQuery(() => request(ConsoleClientAppsDocument, {}));
  const action = useAction();
  return (
    <>
      <h2>Client apps</h2>
      <p class="hint">Published documents per app and version; a retired version stops running on every replica within a second.</p>
      <ClientAppVersions
        caption="The tenant’s client apps and their published versions"
        apps={data?.clientApps}
        error={error}
        action={action}
        reload={reload}
        kept={(app) => (app.platform ? 'platform' : undefined)}
      />
    </>
  );
}
