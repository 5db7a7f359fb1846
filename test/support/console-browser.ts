import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { SignUpDocument } from '../../src/generated/operations/graphql.ts';
import { graphql } from '../gql/index.ts';
import { expectNoErrors, type Gateway } from './gateway.ts';

/** Where the console tests save their screenshots (gitignored; docs/screenshots/ holds the README's copies). */
export const ARTIFACTS = 'test/artifacts';

export const OwnerSignInLink = graphql(`
  mutation ConsoleOwnerSignInLink($email: String!, $tenantId: ID!) { createOwnerSignInLink(email: $email, tenantId: $tenantId) { token } }
`);

/**
 * What every console test opens: the gateway served over real HTTP on loopback (the page's CSP,
 * cookies and same-origin rules need a real origin) and Debian's chromium driven by playwright-core.
 */
export async function serveToBrowser(gw: Gateway): Promise<{ origin: string; browser: Browser; close: () => Promise<void> }> {
  const http = createServer(gw.yoga);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    browser,
    close: async () => {
      await browser.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A response a tab received, its body read (empty for a subscription's stream). */
export interface RecordedResponse {
  url: string;
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * Records every response `page` receives, bodies included; a subscription's stream never ends while
 * the page is open, so its body is not read (test/console-live.test.ts checks what streams carry,
 * tenant by tenant). The function returned waits for the bodies read so far and answers them all;
 * reading never rejects, so a tab closed before its responses were read leaves no unhandled error.
 */
export function recordResponses(page: Page): () => Promise<RecordedResponse[]> {
  const responses: RecordedResponse[] = [];
  const reading: Promise<void>[] = [];
  page.on('response', (response) => {
    reading.push(
      (async () => {
        const streaming = (response.headers()['content-type'] ?? '').startsWith('text/event-stream');
        const body = streaming ? '' : await response.text().catch(() => '');
        // A tab closed before its last responses were read: what is left of them is not recorded.
        const headers = await response.allHeaders().catch(() => undefined);
        if (headers) responses.push({ url: response.url(), status: response.status(), body, headers });
      })(),
    );
  });
  return async () => {
    await Promise.all(reading);
    return responses;
  };
}

/** A tenant signed up through the gateway's own published operation, and a one-time sign-in link for its owner. */
export async function tenantWithLink(gw: Gateway, operatorToken: string, name: string) {
  const email = `owner-${name}@example.com`;
  const { signUp } = expectNoErrors(
    await gw.execute(SignUpDocument, { input: { tenantName: name, owner: { email, name: 'Owner' }, deviceLabel: 'seed' } }),
  );
  const link = expectNoErrors(await gw.execute(OwnerSignInLink, { email, tenantId: signUp.tenant.id }, { token: operatorToken }))
    .createOwnerSignInLink.token;
  return { id: signUp.tenant.id, name, token: signUp.session.accessToken, link };
}

/** Signs in with a one-time link (in the URL fragment, which never reaches a server) and waits for the first screen. */
export async function signIn(page: Page, origin: string, link: string): Promise<void> {
  await page.goto(`${origin}/console#link=${link}`);
  await page.getByRole('heading', { name: 'Isolation at a glance' }).waitFor();
}
