import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import { CreateAgentRecordDocument, RunTaskDocument } from '../src/generated/operations/graphql.ts';
import { insertSharingKey } from '../src/modules/memory/memory.store.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ARTIFACTS, recordResponses, serveToBrowser, signIn, tenantWithLink } from './support/console-browser.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

/**
 * The console in a real browser (Debian's chromium, driven by playwright-core) against a gateway in
 * production mode with a real Docker engine: everything the page does goes through the console's
 * published operations and its cookie-backed session endpoints. The page is the committed
 * console/dist (`npm test` checks it is what the sources build; after changing them, run
 * `npm run console:build` first). Not rebuilt here: other test files' gateways read it as they start.
 */

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let gw: Gateway;
let served: Awaited<ReturnType<typeof serveToBrowser>>;
let origin: string;
let browser: Browser;
let operatorToken: string;

beforeAll(async () => {
  gw = await startGateway({ runtime: true, canary: true, policy: { mode: 'production' } });
  served = await serveToBrowser(gw);
  ({ origin, browser } = served);
  operatorToken = await gw.operator.token();
}, 120_000);

afterAll(async () => {
  await served?.close();
  await gw?.close();
});

/** A browser tab that records every response it receives (bodies included), and every CSP violation it reports. */
async function openTab(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
  });
  /** Every response received so far, its body read. */
  const settled = recordResponses(page);
  return { context, page, violations, settled };
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${ARTIFACTS}/console-${name}.png`, fullPage: true });
}

describe('the console', () => {
  let acme: Awaited<ReturnType<typeof tenantWithLink>>;
  let tab: Awaited<ReturnType<typeof openTab>>;

  beforeAll(async () => {
    acme = await tenantWithLink(gw, operatorToken, `acme-${Date.now()}`);
    // One data key for the isolation panel to count: the tenant's sharing key (as its first handoff or shared file makes it).
    const { wrapped, plaintext } = await gw.keyProvider.generateDataKey();
    plaintext.fill(0);
    const tenantId = decodeGlobalId(acme.id).id;
    await forkForTenant(gw.orm, tenantId).transactional((em) => insertSharingKey(em, tenantId, gw.keyProvider.kind, wrapped));
    tab = await openTab();
  });
  afterAll(() => tab?.context.close());

  test('serves a page whose policy forbids inline code and eval, and which only talks to its own origin', async () => {
    const response = await fetch(`${origin}/console/agents`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await response.text()).toMatch(/<script type="module" src="\/console\/assets\/app-[A-Z0-9]+\.js" integrity="sha384-/);
  });

  test('the session endpoints refuse a request without the CSRF header, a missing cookie and a bad link, in codes', async () => {
    const post = (path: string, headers: Record<string, string>, body = '{}') =>
      fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const answer = async (response: Response) => ({
      status: response.status,
      codes: ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors.map((error) => error.extensions.code),
    });
    expect(await answer(await post('/console/session/refresh', {}))).toEqual({ status: 403, codes: ['CSRF_HEADER_MISSING'] });
    const noCookie = await post('/console/session/refresh', { 'x-graphql-csrf': '1' });
    expect(noCookie.headers.get('set-cookie')).toMatch(
      /^fleetgate_console_refresh=; Path=\/console\/session; Max-Age=0; HttpOnly; SameSite=Strict/,
    );
    expect(await answer(noCookie)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
    const forged = await post('/console/session/refresh', { 'x-graphql-csrf': '1', cookie: 'fleetgate_console_refresh=fgr_forged' });
    expect((await answer(forged)).codes).toEqual(['UNAUTHENTICATED']);
    expect((await answer(await post('/console/session', { 'x-graphql-csrf': '1' }, '{"link":"fgl_nope"}'))).codes).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect((await fetch(`${origin}/console/session`)).status).toBe(405);
    const huge = JSON.stringify({ link: `fgl_${'x'.repeat(100_000)}` });
    expect(await answer(await post('/console/session', { 'x-graphql-csrf': '1' }, huge))).toEqual({
      status: 400,
      codes: ['BAD_USER_INPUT'],
    });
  });

  test('a one-time link signs the owner in: the link leaves the URL, the refresh token only lives in an HttpOnly cookie', async () => {
    await signIn(tab.page, origin, acme.link);
    expect(await tab.page.evaluate(() => location.href)).toBe(`${origin}/console`);
    await tab.page.getByText(acme.name, { exact: true }).waitFor();

    const [cookie, ...others] = (await tab.context.cookies()).filter((each) => each.name === 'fleetgate_console_refresh');
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console/session' });
    const refreshToken = cookie?.value ?? '';
    expect(refreshToken.startsWith('fgr_')).toBe(true);
    // Nothing the page's script can read holds it: no body, no storage, no script-visible cookie.
    expect((await tab.settled()).filter((response) => response.body.includes('fgr_'))).toEqual([]);
    expect(await tab.page.evaluate(() => [document.cookie, localStorage.length, sessionStorage.length])).toEqual(['', 0, 0]);
    expect(gw.logs()).not.toContain(refreshToken);
    expect(gw.logs()).not.toContain(acme.link);

    // The link was single-use: redeeming it again is refused in words.
    const again = await openTab();
    await again.page.goto(`${origin}/console#link=${acme.link}`);
    await again.page.getByRole('alert').filter({ hasText: 'signed out' }).waitFor();
    await again.context.close();
  });

  test('the isolation panel shows the tenant’s walls, tier, region and freeze state, without layout shift, at desktop and phone width', async () => {
    const { page, violations } = tab;
    await page.getByTestId('freeze-state').filter({ hasText: 'Active.' }).waitFor();
    for (const wall of ['Resolver scopes', 'ORM tenant filter', 'Postgres row-level security', 'Agent sandbox']) {
      await page.getByRole('heading', { name: wall }).waitFor();
    }
    await page.getByText('Standard (shared tables, row-level security)').waitFor();
    await page.getByText(/^passed: every cross-tenant probe was refused/).waitFor();
    await page.getByText('local keyring, key version 1').waitFor();
    // The owner sees its data keys per key version (counts only) and the canary's last runs.
    const keys = page.getByTestId('data-keys').locator('tr[data-version="1"]');
    await keys.getByRole('cell', { name: 'v1 (current)' }).waitFor();
    expect(await keys.getByRole('cell').allTextContents()).toEqual(['v1 (current)', '1', '0', '0', '1']);
    await page.getByTestId('canary-runs').locator('tr[data-outcome="OK"]').first().getByText('passed').waitFor();
    const shift = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          let total = 0;
          new PerformanceObserver((list) => {
            for (const entry of list.getEntries() as (PerformanceEntry & { value: number })[]) total += entry.value;
          }).observe({ type: 'layout-shift', buffered: true });
          setTimeout(() => resolve(total), 300);
        }),
    );
    expect(shift).toBeLessThan(0.1); // "good" cumulative layout shift
    await shot(page, 'isolation');
    // Not polled: while nothing changes (no agent, no freeze, the canary's 30-second read not yet due) the panel is not read again.
    const panelReads = async () => (await tab.settled()).filter((response) => response.body.includes('"isolationCanary":')).length;
    const before = await panelReads();
    await page.waitForTimeout(3_000);
    expect(await panelReads()).toBe(before);
    const phone = await openTab(PHONE);
    await phone.context.addCookies(await tab.context.cookies()); // the same session, resumed from the cookie
    await phone.page.goto(`${origin}/console`);
    await phone.page.getByRole('heading', { name: 'Isolation at a glance' }).waitFor();
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
    await shot(phone.page, 'isolation-phone');
    // The phone rotated the refresh token: hand the new cookie back, as one browser's tabs share it.
    await tab.context.addCookies(await phone.context.cookies());
    await phone.context.close();
    expect(violations).toEqual([]);
  });

  test('creating an agent from the console shows it reach RUNNING in the live list', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('Name').fill('scout');
    await page.getByRole('button', { name: 'Create agent' }).click();
    const row = page.locator('tr[data-agent="scout"]');
    await row.getByText('RUNNING').waitFor({ timeout: 30_000 });
    await shot(page, 'agents');
    // Live, not polled: while nothing changes, the list is not read again (the agentsChanged stream is open).
    const listReads = async () =>
      (await tab.settled()).filter(
        (response) => new URL(response.url).pathname === '/graphql' && response.body.includes('"agents":{"edges"'),
      ).length;
    const before = await listReads();
    await page.waitForTimeout(3_000);
    expect(await listReads()).toBe(before);
    // A task asked through the API shows on the agent's page: status and times, never its input.
    const agentId = decodeURIComponent(
      ((await row.getByRole('link', { name: 'scout' }).getAttribute('href')) ?? '').split('/').pop() ?? '',
    );
    expectNoErrors(await gw.execute(RunTaskDocument, { agentId, input: 'secret-task-input' }, { token: acme.token }));
    await row.getByRole('link', { name: 'scout' }).click();
    await page.getByText('none (loopback only)').waitFor();
    await page.getByTestId('recent-tasks').locator('tbody tr').first().waitFor();
    expect(await page.getByTestId('recent-tasks').locator('tbody tr').count()).toBe(1);
    expect(await page.content()).not.toContain('secret-task-input');
    await shot(page, 'agent');
    // Stop and start from its page; its status follows live (agentStatusChanged).
    const status = page.getByTestId('agent-status');
    await status.getByText('RUNNING').waitFor();
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await status.getByText('STOPPED').waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await status.getByText('RUNNING').waitFor({ timeout: 30_000 });
  }, 90_000);

  test('the audit screen verifies the tenant’s hash chain', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('cell', { name: 'agent.create' }).first().waitFor();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page
      .getByTestId('verification')
      .filter({ hasText: /^Intact: \d+ events checked/ })
      .waitFor();
    await shot(page, 'audit');
  });

  test('a reload keeps the session through the cookie, and the keyboard reaches every control', async () => {
    const { page } = tab;
    await page.reload();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.keyboard.press('Tab'); // the skip link
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const reached = new Set<string>();
    for (let step = 0; step < 8; step += 1) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    expect([...reached]).toEqual(expect.arrayContaining(['Isolation', 'Agents', 'Audit', 'Sign out', 'Verify the chain']));
  });

  test('an operator freezes the tenant and the tenant’s console shows it frozen within one second; unfreezing brings it back', async () => {
    await tab.page.getByRole('link', { name: 'Isolation' }).click();
    await tab.page.getByTestId('freeze-state').filter({ hasText: 'Active.' }).waitFor();

    const operator = await openTab();
    await operator.page.goto(`${origin}/console/operator`);
    await operator.page.getByLabel('Operator token').fill(operatorToken);
    await operator.page.getByRole('button', { name: 'Open the operator view' }).click();
    const row = operator.page.locator(`tr[data-tenant="${acme.name}"]`);
    await row.getByText('ACTIVE').waitFor();
    await shot(operator.page, 'operator');
    // Metadata only: no response to the operator carries a tenant's agent.
    expect((await operator.settled()).filter((response) => response.body.includes('scout'))).toEqual([]);

    await row.getByPlaceholder('reason').fill('incident 42');
    await row.getByRole('button', { name: 'Freeze' }).click();
    await row.getByText('FROZEN').waitFor();
    const frozenAt = Date.now();
    await tab.page.getByTestId('frozen-banner').waitFor({ timeout: 5_000 });
    const seen = Date.now() - frozenAt;
    await tab.page.getByTestId('freeze-state').filter({ hasText: 'Frozen.' }).filter({ hasText: 'reason: incident 42' }).waitFor();
    await shot(tab.page, 'isolation-frozen');
    expect(seen).toBeLessThan(1_000); // the tenantStatus stream ends with TENANT_FROZEN: the banner shows at once
    // Frozen is not signed out: a reload keeps the session, and the page still says why.
    await tab.page.reload();
    await tab.page.getByTestId('frozen-banner').filter({ hasText: 'reason: incident 42' }).waitFor();

    await row.getByRole('button', { name: 'Unfreeze' }).click();
    await row.getByText('ACTIVE').waitFor();
    await tab.page.getByTestId('freeze-state').filter({ hasText: 'Active.' }).waitFor({ timeout: 5_000 });
    await operator.context.close();
  }, 30_000);

  test('deleting an agent from its page asks first, then the live list shows it going', async () => {
    const { page } = tab;
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.locator('tr[data-agent="scout"]').getByRole('link', { name: 'scout' }).click();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete agent' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted.' }).waitFor();
    await page.getByRole('link', { name: 'All agents' }).click();
    await page.getByText('No agents yet.').waitFor({ timeout: 15_000 });
  }, 30_000);
});

describe('tenant isolation through the console', () => {
  test('tenant A’s console handed tenant B’s agent id shows “not found”, and no response carries B’s data', async () => {
    const a = await tenantWithLink(gw, operatorToken, `alpha-${Date.now()}`);
    const b = await tenantWithLink(gw, operatorToken, `bravo-${Date.now()}`);
    const secretName = `bravo-secret-agent-${Date.now()}`;
    const bAgent = expectNoErrors(
      await gw.execute(CreateAgentRecordDocument, { input: { name: secretName, image: 'fleetgate/agent:1' } }, { token: b.token }),
    ).createAgent.agent;

    const tab = await openTab();
    try {
      await signIn(tab.page, origin, a.link);
      await tab.page.goto(`${origin}/console/agents/${encodeURIComponent(bAgent.id)}`);
      await tab.page.getByRole('alert').filter({ hasText: 'Not found' }).waitFor();
      await shot(tab.page, 'not-found');
      await tab.page.goto(`${origin}/console/agents`);
      await tab.page.getByText('No agents yet.').waitFor();

      const responses = await tab.settled();
      const graphqlResponses = responses.filter((response) => new URL(response.url).pathname === '/graphql');
      // The agent was asked for and refused exactly like a missing one.
      expect(graphqlResponses.filter((response) => response.body.includes('"NOT_FOUND"'))).toHaveLength(1);
      expect(graphqlResponses.some((response) => response.body.includes('"agents"'))).toBe(true);
      for (const leak of [b.id, b.name, bAgent.id, secretName]) {
        expect(responses.filter((response) => response.body.includes(leak)).map((response) => response.url)).toEqual([]);
      }
    } finally {
      await tab.context.close();
    }
  }, 30_000);
});
