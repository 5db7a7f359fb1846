import { request } from '../api.ts';
import { ErrorNote, SkeletonRows, when } from '../components.tsx';
import { ConsoleRetireVersionDocument } from '../gql/graphql.ts';
import type { useAction } from '../hooks.ts';

interface AppVersions {
  name: string;
  platform?: boolean;
  versions: readonly { version: string; documentCount: number; publishedAt: string; retiredAt?: string | null }[];
}

/**
 * Client apps by published version with **Retire**: a tenant's own apps (the team screen) or the
 * platform's (the operator view, `platform`: retired for every tenant). A version already retired says
 * when; one `kept` names a reason for is shown with it and never offered (the gateway decides anyway).
 */
export function ClientAppVersions(props: {
  caption: string;
  apps: readonly AppVersions[] | undefined;
  error: unknown;
  action: ReturnType<typeof useAction>;
  reload: () => unknown;
  platform?: boolean;
  /** Why a version is not offered for retirement, or undefined. */
  kept: (app: AppVersions, version: string) => string | undefined;
}) {
  const { caption, apps, error, action, reload, platform = false, kept } = props;
  const row = platform ? 'data-platform-version' : 'data-app-version';
  return (
    <>
      {error ? <ErrorNote error={error} /> : null}
      {action.error ? <ErrorNote error={action.error} /> : null}
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">App</th>
            <th scope="col">Version</th>
            <th scope="col">{platform ? 'Operations' : 'Documents'}</th>
            <th scope="col">Published</th>
            <th scope="col">{platform ? 'State' : 'Actions'}</th>
          </tr>
        </thead>
        <tbody>
          {apps === undefined && !error ? <SkeletonRows rows={platform ? 2 : 1} columns={5} /> : null}
          {apps?.length === 0 ? (
            <tr>
              <td colSpan={5}>No client apps published.</td>
            </tr>
          ) : null}
          {apps?.flatMap((app) =>
            app.versions.map((version) => {
              const reason = kept(app, version.version);
              return (
                <tr key={`${app.name}@${version.version}`} {...{ [row]: `${app.name}@${version.version}` }}>
                  <td>{app.name}</td>
                  <td>
                    <code>{version.version}</code>
                  </td>
                  <td>{version.documentCount}</td>
                  <td>{when(version.publishedAt)}</td>
                  <td>
                    {version.retiredAt ? (
                      `retired ${when(version.retiredAt)}`
                    ) : reason ? (
                      reason
                    ) : (
                      <button
                        type="button"
                        class="danger"
                        disabled={action.busy}
                        aria-label={`Retire ${app.name} ${version.version}`}
                        onClick={async () => {
                          const scope = platform
                            ? ' for every tenant? Its operations stop at once.'
                            : '? Its documents stop running at once.';
                          if (!confirm(`Retire ${app.name} ${version.version}${scope}`)) return;
                          await action.run(() =>
                            request(ConsoleRetireVersionDocument, { input: { app: app.name, version: version.version, platform } }),
                          );
                          await reload();
                        }}
                      >
                        Retire
                      </button>
                    )}
                  </td>
                </tr>
              );
            }),
          )}
        </tbody>
      </table>
    </>
  );
}
