import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConsoleRetentionRoleDocument } from '../console/src/gql/graphql.ts';
import { SignUpDocument } from '../src/generated/operations/graphql.ts';
import { graphql } from './gql/index.ts';
import { ARTIFACTS, recordResponses, serveToBrowser } from './support/console-browser.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { signingKey, startOpenIdProvider } from './support/oidc-provider.ts';
import { AddMember } from './support/operations.ts';
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
  const responses = recordResponses(page);
  const settled = async () => (await responses()).map((response) => response.body);
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

describe('a person several tenants admit chooses one, and switches later with a fresh sign-in', () => {
  type Seeded = { id: string; name: string };
  let one: Seeded;
  let two: Seeded;
  let stranger: Seeded;

  beforeAll(async () => {
    const seeded: Seeded[] = [];
    for (const [label, member] of [
      ['one', true],
      ['two', true],
      ['stranger', false],
    ] as const) {
      const name = `choose-${label}-${Date.now()}`;
      const { signUp } = expectNoErrors(
        await gw.execute(SignUpDocument, {
          input: { tenantName: name, owner: { email: `owner-${label}@${label}.example`, name: 'Owner' }, deviceLabel: 'seed' },
        }),
      );
      const token = signUp.session.accessToken;
      // The same provider and client id for all three (an agency's identity provider, say); no just-in-time membership.
      const input = { issuer: idp.issuer, clientId: CONSOLE_CLIENT, allowedDomains: ['multi.example'] };
      expectNoErrors(await gw.execute(Register, { input }, { token }));
      if (member) {
        expectNoErrors(await gw.execute(AddMember, { input: { email: 'pat@multi.example', name: 'Pat', role: 'MEMBER' } }, { token }));
      }
      seeded.push({ id: signUp.tenant.id, name });
    }
    [one, two, stranger] = seeded as [Seeded, Seeded, Seeded];
    idp.accounts.set('pat', { email: 'pat@multi.example', name: 'Pat' });
  }, 60_000);

  /** The access tokens the page was handed by /console/session/refresh, newest last. */
  function accessTokens(page: Awaited<ReturnType<typeof openTab>>['page']) {
    const tokens: string[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname !== '/console/session/refresh') return;
      response.json().then(
        (body: { accessToken?: string }) => void (body.accessToken && tokens.push(body.accessToken)),
        () => undefined,
      );
    });
    return tokens;
  }

  test('the chooser lists only the tenants where the person is an active member; a choice signs in there; Switch tenant ends that session first', async () => {
    const { context, page, settled } = await openTab();
    const tokens = accessTokens(page);
    try {
      await page.goto(signInUrl);
      idp.loginAs('pat');
      await page.getByRole('button', { name: 'Sign in with your identity provider' }).click();
      await page.getByRole('heading', { name: 'Choose a tenant' }).waitFor();
      const choices = page.getByRole('list', { name: 'Your tenants' }).getByRole('button');
      await choices.first().waitFor();
      expect(await choices.allTextContents()).toEqual([`Sign in to ${one.name}`, `Sign in to ${two.name}`]);
      expect(page.url()).toBe(`${origin}/console`); // the page took `#oidc_choose` out of the address bar
      const cookies = await context.cookies();
      expect(cookies.find((each) => each.name === 'fleetgate_console_oidc_choices')).toMatchObject({
        httpOnly: true,
        sameSite: 'Strict',
        path: '/console/oidc',
      });
      expect(cookies.filter((each) => each.name === 'fleetgate_console_refresh')).toEqual([]);
      await page.screenshot({ path: `${ARTIFACTS}/console-choose-tenant.png` });

      // Keyboard: the first choice takes focus with Tab like any button, Enter chooses.
      await page.getByRole('button', { name: `Sign in to ${two.name}` }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Isolation at a glance' }).waitFor();
      await page.getByText(two.name).waitFor();
      await page.getByText('Pat (member)').waitFor();
      const afterChoice = await context.cookies();
      expect(afterChoice.filter((each) => each.name === 'fleetgate_console_oidc_choices')).toEqual([]);
      expect(afterChoice.find((each) => each.name === 'fleetgate_console_idp')).toMatchObject({ httpOnly: true, path: '/console' });

      // A reload resumes the session in that tenant, still offering to switch.
      await page.reload();
      await page.getByText(two.name).waitFor();
      const inTwo = tokens.at(-1) ?? '';
      // The console's sessions run the console's operations only: asked as the console.
      const me = (token: string) =>
        gw.execute(ConsoleRetentionRoleDocument, {}, { token, headers: { 'x-graphql-client-name': 'console' } });
      expectNoErrors(await me(inTwo));
      await page.getByRole('button', { name: 'Switch tenant' }).click();
      await page.getByRole('heading', { name: 'Choose a tenant' }).waitFor();
      // Switching ended the first tenant's session before anything else.
      expect(errorCodes(await me(inTwo))).toEqual(['UNAUTHENTICATED']);
      await page.getByRole('button', { name: `Sign in to ${one.name}` }).click();
      await page.getByText(one.name).waitFor();
      await page.getByText('Pat (member)').waitFor();

      // Nothing the page received names or identifies the tenant that trusts the same provider without knowing Pat.
      const bodies = await settled();
      expect(bodies.filter((body) => body.includes(stranger.name) || body.includes(stranger.id))).toEqual([]);
      expect(bodies.filter((body) => body.includes('fgr_'))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  test('choosing a tenant the person does not belong to is refused exactly like one that does not exist', async () => {
    const unknown = Buffer.from('Tenant:00000000-0000-4000-8000-000000000000').toString('base64');
    const attempt = async (tenant: string) => {
      const { context, page } = await openTab();
      try {
        const redirects: string[] = [];
        page.on('response', (response) => {
          if (new URL(response.url()).pathname === '/console/oidc/callback') redirects.push(response.headers().location ?? '');
        });
        // The chooser's own request, with an id the chooser never offered (a forged page or a hand-made URL).
        idp.loginAs('pat');
        await page.goto(`${origin}/console/oidc/start?${new URLSearchParams({ issuer: idp.issuer, client_id: CONSOLE_CLIENT, tenant })}`);
        const alert = page.getByRole('alert');
        await alert.waitFor();
        const refresh = (await context.cookies()).filter((each) => each.name === 'fleetgate_console_refresh');
        return { redirects, alert: await alert.textContent(), url: page.url(), refresh };
      } finally {
        await context.close();
      }
    };
    const notMember = await attempt(stranger.id);
    expect(notMember).toEqual({
      redirects: ['/console#oidc_error=OIDC_UNKNOWN_SUBJECT'],
      alert: expect.stringContaining('no tenant here has you as a member'),
      url: `${origin}/console`,
      refresh: [],
    });
    expect(await attempt(unknown)).toEqual(notMember);
    // Choices without a sign-in that offered them: nothing to list.
    const choices = await fetch(`${origin}/console/oidc/choices`, { method: 'POST', headers: { 'x-graphql-csrf': '1' } });
    expect(choices.status).toBe(401);
  }, 60_000);
});
