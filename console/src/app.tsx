import { useEffect, useReducer, useState } from 'preact/hooks';
import {
  canSwitchTenant,
  chooseTenant,
  onChange,
  resumeSession,
  signedInAs,
  signInAsOperator,
  signInWithLink,
  signOut,
  switchTenant,
  type TenantChoice,
  tenantChoices,
  tenantFrozen,
  watchTenantStatus,
} from './api.ts';
import { ErrorNote, Link } from './components.tsx';
import { ApiError } from './errors.ts';
import { type Route, useRoute } from './router.ts';
import { AgentDetail, Agents } from './screens/agents.tsx';
import { Audit } from './screens/audit.tsx';
import { Isolation } from './screens/isolation.tsx';
import { Operator } from './screens/operator.tsx';
import { Retention } from './screens/retention.tsx';
import { Team } from './screens/team.tsx';

/**
 * The sign-in link arrives in the URL's fragment (`/console#link=fgl_…`): the fragment is never
 * sent to the server, and the page drops it from the address bar and history before redeeming it.
 */
function takeFromUrl(): { link?: string; oidcError?: string; choose: boolean } {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const link = fragment.get('link') ?? undefined;
  // A failed identity-provider sign-in comes back as `#oidc_error=<code>` (src/console/console-oidc.ts).
  const oidcError = fragment.get('oidc_error') ?? undefined;
  // A sign-in several tenants admit comes back as `#oidc_choose`: the page then asks the gateway for the choices.
  const choose = fragment.has('oidc_choose');
  if (link !== undefined || oidcError !== undefined || choose) history.replaceState(null, '', location.pathname + location.search);
  return { link, oidcError, choose };
}

export function App() {
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const [starting, setStarting] = useState(true);
  const [error, setError] = useState<unknown>();
  const [choosing, setChoosing] = useState(false);
  useEffect(() => onChange(() => rerender(0)), []);
  useEffect(() => {
    const { link, oidcError, choose } = takeFromUrl();
    if (oidcError) setError(new ApiError(oidcError));
    if (choose) {
      setChoosing(true);
      setStarting(false);
      return;
    }
    (link ? signInWithLink(link) : resumeSession()).catch(setError).finally(() => setStarting(false));
  }, []);
  const route = useRoute();
  const who = signedInAs();
  // A member's console follows the tenant's status for as long as it is signed in.
  useEffect(() => (who === 'member' ? watchTenantStatus() : undefined), [who]);
  const frozen = tenantFrozen();
  return (
    <>
      <header class="top">
        <a class="skip" href="#main">
          Skip to content
        </a>
        <span class="brand">Fleetgate console</span>
        {who ? <Nav route={route} who={who} /> : null}
        {who === 'member' && canSwitchTenant() ? (
          <button type="button" class="quiet" onClick={() => void switchTenant()}>
            Switch tenant
          </button>
        ) : null}
        {who ? (
          <button type="button" class="quiet" onClick={() => void signOut()}>
            Sign out
          </button>
        ) : null}
      </header>
      {who !== 'operator' && frozen ? (
        <p class="banner" role="alert" data-testid="frozen-banner">
          This tenant is frozen{frozen.reason ? ` (reason: ${frozen.reason})` : ''}: every request is refused until an operator unfreezes
          it.
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {starting ? (
          <p class="placeholder">Signing in…</p>
        ) : who ? (
          <Screen route={route} who={who} />
        ) : choosing ? (
          <TenantChooser />
        ) : (
          <SignIn error={error} />
        )}
      </main>
    </>
  );
}

function Nav({ route, who }: { route: Route; who: 'member' | 'operator' }) {
  const links =
    who === 'operator'
      ? [{ href: '/console/operator', label: 'Tenants', screens: ['operator'] }]
      : [
          { href: '/console', label: 'Isolation', screens: ['isolation'] },
          { href: '/console/agents', label: 'Agents', screens: ['agents', 'agent'] },
          { href: '/console/audit', label: 'Audit', screens: ['audit'] },
          { href: '/console/team', label: 'Team', screens: ['team'] },
          { href: '/console/retention', label: 'Retention', screens: ['retention'] },
        ];
  return (
    <nav aria-label="Console">
      {links.map((link) => (
        <Link key={link.href} href={link.href} current={link.screens.includes(route.screen)}>
          {link.label}
        </Link>
      ))}
    </nav>
  );
}

function Screen({ route, who }: { route: Route; who: 'member' | 'operator' }) {
  if (who === 'operator') return <Operator />;
  switch (route.screen) {
    case 'isolation':
      return <Isolation />;
    case 'agents':
      return <Agents />;
    case 'agent':
      return <AgentDetail id={route.id} />;
    case 'audit':
      return <Audit />;
    case 'team':
      return <Team />;
    case 'retention':
      return <Retention />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>This page does not exist.</p>
        </section>
      );
  }
}

function SignIn({ error }: { error: unknown }) {
  const [linkError, setLinkError] = useState<unknown>(error);
  const redeem = (event: SubmitEvent) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget as HTMLFormElement).get('link') ?? '');
    // Accept the whole link as pasted, or only its token.
    const link = /fgl_[A-Za-z0-9_-]+/.exec(value)?.[0] ?? value.trim();
    signInWithLink(link).catch(setLinkError);
  };
  const operator = (event: SubmitEvent) => {
    event.preventDefault();
    signInAsOperator(String(new FormData(event.currentTarget as HTMLFormElement).get('token') ?? ''));
  };
  return (
    <section aria-labelledby="sign-in-title" class="sign-in">
      <h1 id="sign-in-title">Sign in</h1>
      <p>Open the one-time sign-in link an owner or admin of your tenant gave you, or paste it here.</p>
      <form onSubmit={redeem}>
        <label>
          Sign-in link <input name="link" required autoComplete="off" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {linkError ? <ErrorNote error={linkError} /> : null}
      <IdentityProvider />
      <h2>Operators</h2>
      <form onSubmit={operator}>
        <label>
          Operator token <input name="token" type="password" required autoComplete="off" />
        </label>
        <button type="submit">Open the operator view</button>
      </form>
      <p class="hint">The operator token stays in this tab’s memory only: a reload forgets it.</p>
    </section>
  );
}

/**
 * After a sign-in through an identity provider that several tenants admit: the tenants where the
 * person is an active member, by name (the gateway listed them, and nothing else). Choosing one is a
 * fresh sign-in naming it; the gateway, not this list, decides whether the person may enter.
 */
function TenantChooser() {
  const [offer, setOffer] = useState<{ issuer: string; clientId: string; tenants: TenantChoice[] }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    tenantChoices().then(setOffer, setError);
  }, []);
  return (
    <section aria-labelledby="choose-title" class="sign-in">
      <h1 id="choose-title">Choose a tenant</h1>
      <p>You are a member of several tenants here. Which one do you want to work in? You can switch later.</p>
      {error ? <ErrorNote error={error} words={{ UNAUTHENTICATED: 'The choice has expired: sign in again.' }} /> : null}
      <ul class="choices" aria-label="Your tenants">
        {offer === undefined && !error ? <li class="placeholder">…</li> : null}
        {offer?.tenants.map((tenant) => (
          <li key={tenant.id}>
            <button type="button" onClick={() => chooseTenant(offer, tenant.id)}>
              Sign in to {tenant.name}
            </button>
          </li>
        ))}
      </ul>
      <p>
        <a href="/console">Back to sign-in</a>
      </p>
    </section>
  );
}

/**
 * "Sign in with your identity provider": the gateway runs the authorization code flow with PKCE
 * for the page (src/console/console-oidc.ts) and comes back with the same HttpOnly cookie session as
 * a link. The issuer and client id are public; an owner can hand members a console URL carrying them
 * (`/console?issuer=…&client_id=…`), which fills them in.
 */
function IdentityProvider() {
  const query = new URLSearchParams(location.search);
  const go = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const params = new URLSearchParams({
      issuer: String(form.get('issuer') ?? '').trim(),
      client_id: String(form.get('client') ?? '').trim(),
    });
    location.assign(`/console/oidc/start?${params}`);
  };
  return (
    <>
      <h2>Your identity provider</h2>
      <form onSubmit={go}>
        <label>
          Issuer <input name="issuer" type="url" required autoComplete="off" value={query.get('issuer') ?? ''} />
        </label>
        <label>
          Client ID <input name="client" required autoComplete="off" value={query.get('client_id') ?? ''} />
        </label>
        <button type="submit">Sign in with your identity provider</button>
      </form>
    </>
  );
}
