import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SignUpDocument } from '../src/generated/operations/graphql.ts';
import { graphql } from './gql/index.ts';
import { ARTIFACTS, serveToBrowser } from './support/console-browser.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { signingKey, startOpenIdProvider } from './support/oidc-provider.ts';
import { freePorts } from './support/ports.ts';

/**
 * "Sign in with your identity provider" in a real browser (Debian's chromium) against a real OpenID
 * provider (oidc-provider) in this process: the gateway runs the authorization code flow with PKCE
 * for the page (src/console/console-oidc.ts) and ends it with the same HttpOnly cookie session as a
 * one-time link. A development-mode gateway, because the provider speaks http on loopback.
 */

const Register = graphql(`
  mutation ConsoleOidcTestRegister($input: RegisterOidcConnectionInput!) { registerOidcConnection(input: $input) { id } }
`);

const CONSOLE_CLIENT = 'fleetgate-console';

let gw: Gateway;
let served: Awaited<ReturnType<typeof serveToBrowser>>;
let origin: string;
let browser: Browser;
let idp: Awaited<ReturnType<typeof startOpenIdProvider>>;
let signInUrl: string;

beforeAll(async () => {
  gw = await startGateway({});
  served = await serveToBrowser(gw);
  ({ origin, browser } = served);
  idp = await startOpenIdProvider(
    await freePorts(1),
    [signingKey('console-key')],
    [{ clientId: CONSOLE_CLIENT, redirectUri: `${origin}/console/oidc/callback` }],
  );
  const { signUp } = expectNoErrors(
    await gw.execute(SignUpDocument, {
      input: { tenantName: `oidc-${Date.now()}`, owner: { email: 'owner@acme.example', name: 'Owner' }, deviceLabel: 'seed' },
    }),
  );
  expectNoErrors(
    await gw.execute(
      Register,
      { input: { issuer: idp.issuer, clientId: CONSOLE_CLIENT, allowedDomains: ['acme.example'], jitRole: 'MEMBER' } },
      { token: signUp.session.accessToken },
    ),
  );
  idp.accounts.set('dana', { email: 'dana@acme.example', name: 'Dana' });
  idp.accounts.set('eve', { email: 'eve@elsewhere.example', name: 'Eve' });
  signInUrl = `${origin}/console?${new URLSearchParams({ issuer: idp.issuer, client_id: CONSOLE_CLIENT })}`;
}, 120_000);

afterAll(async () => {
  await served?.close();
  await idp?.close();
  await gw?.close();
});

async function openTab() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const bodies: string[] = [];
  const reading: Promise<void>[] = [];
  page.on('response', (response) => {
    // A subscription's stream never ends while the page is open: not read (test/console-live.test.ts covers it).
    if ((response.headers()['content-type'] ?? '').startsWith('text/event-stream')) return;
    reading.push(
      response.text().then(
        (body) => void bodies.push(body),
        () => undefined,
      ),
    );
  });
  const settled = async () => {
    await Promise.all(reading);
    return bodies;
  };
  return { context, page, settled };
}

describe('signing in to the console through the tenant’s identity provider', () => {
  test('the code flow with PKCE ends in the same HttpOnly cookie session as a link, and no token reaches the page', async () => {
    const { context, page, settled } = await openTab();
    try {
      await page.goto(signInUrl);
      // The URL filled in the issuer and client id; the member only presses the button.
      expect(await page.getByLabel('Issuer').inputValue()).toBe(idp.issuer);
      await page.screenshot({ path: `${ARTIFACTS}/console-sign-in.png` });
      idp.loginAs('dana');
      await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
      await page.getByRole('heading', { name: 'Isolation at a glance' }).waitFor();
      await page.getByText('Dana (member)').waitFor(); // joined just in time, as the connection's jitRole
      expect(new URL(page.url()).pathname).toBe('/console');

      const cookies = await context.cookies();
      const refresh = cookies.filter((each) => each.name === 'fleetgate_console_refresh');
      expect(refresh).toHaveLength(1);
      expect(refresh[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console/session' });
      expect(refresh[0]?.value.startsWith('fgr_')).toBe(true);
      // The flow's state, nonce and verifier were forgotten once used.
      expect(cookies.filter((each) => each.name === 'fleetgate_console_oidc')).toEqual([]);
      expect(await page.evaluate(() => [document.cookie, localStorage.length, sessionStorage.length])).toEqual(['', 0, 0]);
      // Neither the refresh token nor the identity provider's ID token is in anything the page received
      // (its only JWT is the gateway's own access token, kept in memory).
      const bodies = await settled();
      expect(bodies.filter((body) => body.includes('fgr_'))).toEqual([]);
      const issuers = bodies.flatMap((body) =>
        [...body.matchAll(/eyJ[\w-]+\.(eyJ[\w-]+)\./g)].map((jwt) => JSON.parse(Buffer.from(jwt[1] ?? '', 'base64url').toString()).iss),
      );
      expect(issuers.length).toBeGreaterThan(0);
      expect(issuers.filter((issuer) => issuer !== 'fleetgate')).toEqual([]);
      expect(gw.logs()).not.toContain(refresh[0]?.value);

      // A reload resumes the session from the cookie, like a link's.
      await page.reload();
      await page.getByText('Dana (member)').waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);

  test('an unregistered client id, a forged callback and an identity no tenant admits are refused in words', async () => {
    const { context, page } = await openTab();
    try {
      // No redirect to, or fetch of, an issuer nobody registered.
      await page.goto(`${origin}/console?${new URLSearchParams({ issuer: idp.issuer, client_id: 'not-registered' })}`);
      await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
      await page.getByRole('alert').filter({ hasText: 'No tenant signs in with that identity provider' }).waitFor();
      expect(new URL(page.url()).origin).toBe(origin);
      expect(page.url()).not.toContain('oidc_error'); // the page took the code out of the address bar

      // A callback this browser never started (login CSRF): refused before any code is redeemed.
      await page.goto(`${origin}/console/oidc/callback?code=stolen&state=forged`);
      await page.getByRole('alert').filter({ hasText: 'You are signed out' }).waitFor();

      // A verified identity of a domain no connection lists.
      await page.goto(signInUrl);
      idp.loginAs('eve');
      await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
      await page.getByRole('alert').filter({ hasText: 'no tenant here has you as a member' }).waitFor();
      expect((await context.cookies()).filter((each) => each.name === 'fleetgate_console_refresh')).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
