import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ConsoleAddMemberDocument,
  ConsoleRedeemSignInLinkDocument,
  ConsoleSetAuditRetentionDocument,
  ConsoleTenantRetentionDocument,
} from '../console/src/gql/graphql.ts';
import {
  ListAgentsDocument,
  MeDocument as Me,
  PublishDocumentsDocument as Publish,
  RedeemSignInLinkDocument,
} from '../src/generated/operations/graphql.ts';
import { ARTIFACTS, OwnerSignInLink, recordResponses, serveToBrowser, signIn, tenantWithLink } from './support/console-browser.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { waitUntil } from './support/wait.ts';

/** Requests as the console app: in production a console session runs the console's published operations only. */
const asConsole = (token?: string) => ({ ...(token ? { token } : {}), headers: { 'x-graphql-client-name': 'console' } });

/** A console session of the tenant's owner (a fresh owner link, redeemed as the console). */
async function consoleOwner(tenant: { id: string; name: string }): Promise<string> {
  const link = expectNoErrors(
    await gw.execute(OwnerSignInLink, { email: `owner-${tenant.name}@example.com`, tenantId: tenant.id }, { token: operatorToken }),
  ).createOwnerSignInLink.token;
  return expectNoErrors(await gw.execute(ConsoleRedeemSignInLinkDocument, { token: link }, asConsole())).redeemSignInLink.accessToken;
}

/** A member added by the owner (as the console), with its one-time sign-in link. */
async function addMember(ownerToken: string, input: { email: string; name: string; role: 'ADMIN' | 'MEMBER' | 'VIEWER' }) {
  const { addMember: added } = expectNoErrors(await gw.execute(ConsoleAddMemberDocument, { input }, asConsole(ownerToken)));
  return { id: added.member.id, link: added.signInToken ?? '' };
}

/**
 * The console's team and access, retention and deletion, and audit report screens in a real browser
 * (Debian's chromium) against a gateway in production mode: every action goes through the console's
 * published operations, and each is checked on the gateway's side too (a revoked session's token is
 * refused, a removed member's console signs itself out, the downloaded report verifies offline).
 */

const run = promisify(execFile);

let gw: Gateway;
let served: Awaited<ReturnType<typeof serveToBrowser>>;
let origin: string;
let browser: Browser;
let operatorToken: string;

beforeAll(async () => {
  gw = await startGateway({ policy: { mode: 'production' } });
  served = await serveToBrowser(gw);
  ({ origin, browser } = served);
  operatorToken = await gw.operator.token();
}, 120_000);

afterAll(async () => {
  await served?.close();
  await gw?.close();
});

async function openTab(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
  });
  const responses = recordResponses(page);
  const settled = async () => (await responses()).map((response) => response.body);
  return { context, page, violations, settled };
}

/** The page's cumulative layout shift so far, leaving out shifts a person's own input caused (as the metric does). */
function layoutShift(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        let total = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries() as (PerformanceEntry & { value: number; hadRecentInput: boolean })[]) {
            if (!entry.hadRecentInput) total += entry.value;
          }
        }).observe({ type: 'layout-shift', buffered: true });
        setTimeout(() => resolve(total), 300);
      }),
  );
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/console-${name}.png`, fullPage: true });

describe('team and access', () => {
  let acme: Awaited<ReturnType<typeof tenantWithLink>>;
  let owner: Awaited<ReturnType<typeof openTab>>;

  beforeAll(async () => {
    acme = await tenantWithLink(gw, operatorToken, `team-${Date.now()}`);
    owner = await openTab();
    await signIn(owner.page, origin, acme.link);
    await owner.page.getByRole('link', { name: 'Team' }).click();
    await owner.page.getByRole('heading', { name: 'Members' }).waitFor();
  }, 30_000);
  afterAll(() => owner?.context.close());

  test('removing a member from the console ends that member’s console session', async () => {
    const { page } = owner;
    const form = page.getByRole('form', { name: 'Add a member' });
    await form.getByLabel('Email').fill('mia@example.com');
    await form.getByLabel('Member name').fill('Mia');
    await form.getByRole('button', { name: 'Add member' }).click();
    const link = (await page.getByTestId('shown-once').textContent()) ?? '';
    expect(link).toMatch(new RegExp(`^${origin}/console#link=fgl_`));
    const mia = await openTab();
    try {
      await mia.page.goto(link);
      await mia.page.getByText('Mia (member)').waitFor();

      await page.reload();
      const row = page.locator('tr[data-member="mia@example.com"]');
      await row.getByRole('combobox', { name: 'Role of Mia' }).selectOption('VIEWER');
      await page.reload();
      expect(await page.locator('tr[data-member="mia@example.com"]').getByRole('combobox').inputValue()).toBe('VIEWER');
      await shot(page, 'team');
      // The owner sees Mia's console session among hers.
      await page.locator('tr[data-member="mia@example.com"]').getByRole('button', { name: 'Sessions' }).click();
      await page
        .getByTestId('member-sessions')
        .getByText(/^console \(Chrome/)
        .waitFor();

      page.once('dialog', (dialog) => void dialog.accept());
      await page.locator('tr[data-member="mia@example.com"]').getByRole('button', { name: 'Remove' }).click();
      await page.locator('tr[data-member="mia@example.com"]').waitFor({ state: 'detached' });
      const removedAt = Date.now();
      // Mia's page polls its isolation panel: the next request is refused, the refresh too, and it signs out.
      await mia.page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor({ timeout: 10_000 });
      expect(Date.now() - removedAt).toBeLessThan(5_000);
      expect((await mia.context.cookies()).filter((each) => each.name === 'fleetgate_console_refresh')).toEqual([]);
    } finally {
      await mia.context.close();
    }
  }, 60_000);

  test('a session revoked from the list stops working on the gateway at once', async () => {
    const { page } = owner;
    expectNoErrors(await gw.execute(Me, {}, { token: acme.token }));
    const seed = page.locator('tr[data-session="seed"]');
    await page.locator('tr[data-session]').filter({ hasText: 'this tab' }).waitFor();
    await seed.getByRole('button', { name: 'Revoke' }).click();
    await seed.waitFor({ state: 'detached' });
    expect(errorCodes(await gw.execute(Me, {}, { token: acme.token }))).toEqual(['UNAUTHENTICATED']);
  });

  test('an API key is shown once when created, listed by name afterwards, and refused once revoked', async () => {
    const { page, settled } = owner;
    const form = page.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Key name').fill('ci');
    await form.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('shown-once').textContent()) ?? '';
    expect(key.length).toBeGreaterThan(20);
    const row = page.locator('tr[data-api-key="ci"]');
    await row.getByText('read agents').waitFor();
    expectNoErrors(await gw.execute(ListAgentsDocument, { first: 1 }, { token: key }));

    await page.reload(); // the key is gone from the page, and no later answer carries it
    await page.locator('tr[data-api-key="ci"]').waitFor();
    expect(await page.getByTestId('shown-once').count()).toBe(0);
    expect((await settled()).filter((body) => body.includes(key))).toHaveLength(1); // the createApiKey answer only

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('tr[data-api-key="ci"]').getByRole('button', { name: 'Revoke' }).click();
    await page
      .locator('tr[data-api-key="ci"]')
      .getByText(/^revoked/)
      .waitFor();
    expect(errorCodes(await gw.execute(ListAgentsDocument, { first: 1 }, { token: key }))).toEqual(['UNAUTHENTICATED']);
  });

  test('support access is granted for a time with a token shown once, and revoked', async () => {
    const { page } = owner;
    const form = page.getByRole('form', { name: 'Grant support access' });
    await form.getByLabel('Support person').fill('sam@support.example');
    await form.getByLabel('Reason').fill('ticket 7');
    await form.getByRole('button', { name: 'Grant read-only access' }).click();
    const token = (await page.getByTestId('shown-once').textContent()) ?? '';
    expect(token.length).toBeGreaterThan(20);
    expectNoErrors(await gw.execute(ListAgentsDocument, { first: 1 }, { token }));
    const row = page.locator('tr[data-grant="sam@support.example"]');
    await row.getByText('ticket 7').waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByText(/^revoked/).waitFor();
    expect(errorCodes(await gw.execute(ListAgentsDocument, { first: 1 }, { token }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a client app’s version is listed and retired from the console', async () => {
    const text = 'query MobileMe { me { id } }';
    const documents = { [`sha256:${createHash('sha256').update(text).digest('hex')}`]: text };
    expectNoErrors(await gw.execute(Publish, { input: { app: 'mobile', version: '1.0.0', documents } }, { token: await ownerToken() }));
    const { page } = owner;
    await page.reload();
    const row = page.locator('tr[data-app-version="mobile@1.0.0"]');
    await row.getByText('1', { exact: true }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Retire' }).click();
    await row.getByText(/^retired/).waitFor();
    await shot(page, 'team-access');
    // Readable on a phone: no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  /** A fresh owner token: the sign-up session was revoked from the console above. */
  async function ownerToken(): Promise<string> {
    const link = expectNoErrors(
      await gw.execute(OwnerSignInLink, { email: `owner-${acme.name}@example.com`, tenantId: acme.id }, { token: operatorToken }),
    ).createOwnerSignInLink.token;
    return expectNoErrors(await gw.execute(RedeemSignInLinkDocument, { token: link })).redeemSignInLink.accessToken;
  }
});

describe('audit report', () => {
  test('the signed report downloads as four files that the offline verifier accepts with the command shown', async () => {
    const acme = await tenantWithLink(gw, operatorToken, `report-${Date.now()}`);
    const tab = await openTab();
    try {
      await signIn(tab.page, origin, acme.link);
      const { page } = tab;
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.getByRole('button', { name: 'Prepare the signed report' }).click();
      await page
        .getByTestId('report-summary')
        .filter({ hasText: /^\d+ events, chain intact/ })
        .waitFor();
      const dir = await mkdtemp(join(tmpdir(), 'console-report-'));
      for (const name of ['report.ndjson', 'report.csv', 'report.sig.json', 'public.pem']) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
        expect(download.suggestedFilename()).toBe(name);
        await download.saveAs(join(dir, name));
      }
      const command = (await page.getByTestId('verify-command').textContent()) ?? '';
      expect(command.trim()).toBe('npm run -s audit:verify -- report.ndjson report.sig.json public.pem report.csv');
      await shot(page, 'audit-report');
      // Filters: only the sign-ins, then an outcome none of them has.
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor(); // unfiltered, the sign-up is there
      const filters = page.getByRole('form', { name: 'Filter the audit log' });
      await filters.getByLabel('Action').fill('session.signIn');
      await filters.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor({ state: 'detached' });
      expect(await page.getByRole('cell', { name: 'session.signIn' }).count()).toBeGreaterThan(0);
      await filters.getByLabel('Outcome').selectOption('DENIED');
      await filters.getByRole('button', { name: 'Filter' }).click();
      await page.getByText('No events match.').waitFor();
      // The command shown, run on the downloaded files (the verifier itself, without npm).
      const verify = (files: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts', ...files.map((name) => join(dir, name))]).then(
          ({ stdout }) => ({ ok: true, stdout }),
          (error: { stdout: string }) => ({ ok: false, stdout: error.stdout }),
        );
      const files = command.trim().split(/\s+/).slice(5);
      expect(files).toEqual(['report.ndjson', 'report.sig.json', 'public.pem', 'report.csv']);
      const verified = await verify(files);
      expect(verified).toMatchObject({ ok: true, stdout: expect.stringMatching(/^audit report OK: tenant /) });
      // And it is a real check: one altered event fails it.
      const ndjson = await readFile(join(dir, 'report.ndjson'), 'utf8');
      await writeFile(join(dir, 'report.ndjson'), ndjson.replace('"outcome":"SUCCESS"', '"outcome":"DENIED"'));
      expect(ndjson).toContain('"outcome":"SUCCESS"');
      expect(await verify(files)).toMatchObject({ ok: false, stdout: expect.stringMatching(/^audit report FAILED/) });
      expect(tab.violations).toEqual([]);
    } finally {
      await tab.context.close();
    }
  }, 60_000);
});

describe('retention and deletion', () => {
  test('the owner sees the retention settings, requests the deletion after typing the name, sees it pending, and cancels it', async () => {
    const acme = await tenantWithLink(gw, operatorToken, `retain-${Date.now()}`);
    const tab = await openTab();
    try {
      await signIn(tab.page, origin, acme.link);
      const { page } = tab;
      await page.getByRole('link', { name: 'Retention' }).click();
      await page.getByText('30 days').first().waitFor();
      await page.getByText('Nothing awaits a purge.').waitFor();
      await page.getByTestId('deletion-state').filter({ hasText: 'No deletion requested.' }).waitFor();
      const submit = page.getByRole('button', { name: 'Request deletion' });
      expect(await submit.isDisabled()).toBe(true);
      await page.getByLabel(/Type the tenant’s name/).fill('not the name');
      expect(await submit.isDisabled()).toBe(true);
      await page.getByLabel(/Type the tenant’s name/).fill(acme.name);
      await submit.click();
      await page
        .getByTestId('deletion-state')
        .filter({ hasText: /^Deletion pending: everything is erased on / })
        .waitFor();
      await shot(page, 'retention');
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
      await page.setViewportSize({ width: 1280, height: 800 });
      // Pending on the gateway: the tenant refuses everything else, in words on the other screens.
      expect(errorCodes(await gw.execute(Me, {}, { token: acme.token }))).toEqual(['TENANT_DELETION_PENDING']);
      await page.getByRole('link', { name: 'Agents' }).click();
      await page.getByRole('alert').filter({ hasText: 'This tenant is being deleted.' }).first().waitFor();

      await page.getByRole('link', { name: 'Retention' }).click();
      await page.getByRole('button', { name: 'Cancel the deletion' }).click();
      await page.getByTestId('deletion-state').filter({ hasText: 'No deletion requested.' }).waitFor();
      expectNoErrors(await gw.execute(Me, {}, { token: acme.token }));
    } finally {
      await tab.context.close();
    }
  }, 60_000);
});

describe('audit filters', () => {
  test('filter by actor, target and period; the filters live in the URL, a shared link opens the same view, bad periods are said in words', async () => {
    const acme = await tenantWithLink(gw, operatorToken, `filters-${Date.now()}`);
    const fay = (await addMember(await consoleOwner(acme), { email: 'fay@example.com', name: 'Fay', role: 'VIEWER' })).id; // a global id, as the API shows it
    const fayRaw = Buffer.from(fay, 'base64').toString().split(':')[1] ?? '';
    const tab = await openTab();
    try {
      const { page, context } = tab;
      await signIn(page, origin, acme.link);
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor();
      const filters = page.getByRole('form', { name: 'Filter the audit log' });

      // By target, pasting the member's id as the API gives it: only the events about Fay.
      await filters.getByLabel('Target id').fill(fay);
      await filters.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor({ state: 'detached' });
      await page.getByRole('cell', { name: 'member.add' }).waitFor();
      expect(new URL(page.url()).searchParams.get('targetId')).toBe(fay);
      const targets = page.getByRole('button', { name: /^Only events of target / });
      expect(await targets.count()).toBeGreaterThan(0);
      for (const name of await targets.evaluateAll((buttons) => buttons.map((button) => button.getAttribute('aria-label')))) {
        expect(name).toBe(`Only events of target ${fayRaw}`);
      }

      // A shared link opens the same view in another tab: the form filled in, the same events.
      const shared = await context.newPage();
      await shared.goto(page.url());
      await shared.getByRole('cell', { name: 'member.add' }).waitFor();
      expect(await layoutShift(shared)).toBeLessThan(0.1); // "good" cumulative layout shift, loading straight into a filtered view
      expect(await shared.getByRole('form', { name: 'Filter the audit log' }).getByLabel('Target id').inputValue()).toBe(fay);
      expect(await shared.getByRole('cell', { name: 'tenant.signUp' }).count()).toBe(0);
      await shared.close();

      // By actor, from an event's own actor id (pressed in the row): the owner's events only.
      await filters.getByRole('button', { name: 'Show all events' }).click();
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor();
      const ownerEvent = page.locator('tr').filter({ has: page.getByRole('cell', { name: 'tenant.signUp' }) });
      await ownerEvent.getByRole('button', { name: /^Only events of actor / }).click();
      const actorId = new URL(page.url()).searchParams.get('actorId') ?? '';
      expect(actorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await filters.getByLabel('Actor id').inputValue()).toBe(actorId);
      // The URL and the form change at once; the rows when the filtered page arrives (the operator's rows go then).
      const actorButtons = page.getByRole('button', { name: /^Only events of actor / });
      const onlyOwner = (names: (string | null)[]) => names.length > 0 && names.every((name) => name === `Only events of actor ${actorId}`);
      await waitUntil(
        async () => onlyOwner(await actorButtons.evaluateAll((buttons) => buttons.map((button) => button.getAttribute('aria-label')))),
        10_000,
        'the rows of the owner’s events only',
      );
      // Back returns to the unfiltered view, like a page.
      await page.goBack();
      await page.waitForURL(`${origin}/console/audit`);
      expect(await filters.getByLabel('Actor id').inputValue()).toBe('');

      // By period: today's events; the signed report takes the same period.
      const today = new Date().toISOString().slice(0, 10);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      await filters.getByLabel('From', { exact: true }).fill(today);
      await filters.getByLabel('To', { exact: true }).fill(today);
      await filters.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(`${origin}/console/audit?from=${today}&to=${today}`);
      await page.getByRole('cell', { name: 'tenant.signUp' }).waitFor();
      const report = page.getByRole('form', { name: 'Prepare the signed audit report' });
      expect([
        await report.getByLabel('From', { exact: true }).inputValue(),
        await report.getByLabel('To', { exact: true }).inputValue(),
      ]).toEqual([today, today]);
      await shot(page, 'audit-filters');

      // A period that ends before it starts: said in words, nothing asked of the gateway; the same from a hand-made link.
      await filters.getByLabel('From', { exact: true }).fill(tomorrow);
      await filters.getByRole('button', { name: 'Filter' }).click();
      await page.getByTestId('filter-problem').filter({ hasText: 'The period ends before it starts' }).waitFor();
      await page.getByText('Fix the filter to see events.').waitFor();
      await page.goto(`${origin}/console/audit?from=${tomorrow}&to=${today}`);
      await page.getByTestId('filter-problem').filter({ hasText: 'The period ends before it starts' }).waitFor();
      await page.goto(`${origin}/console/audit?from=yesterday`);
      await page.getByTestId('filter-problem').filter({ hasText: '“From” is not a date' }).waitFor();
      expect(tab.violations).toEqual([]);
    } finally {
      await tab.context.close();
    }
  }, 60_000);
});

describe('retention settings', () => {
  test('owners change each setting within its range, shortening the audit log after typing the name; refusals are in words; admins read only', async () => {
    const acme = await tenantWithLink(gw, operatorToken, `settings-${Date.now()}`);
    const tab = await openTab();
    try {
      const { page } = tab;
      await signIn(page, origin, acme.link);
      await page.goto(`${origin}/console/retention`);
      const settings = (name: string) => page.getByRole('form', { name: `Change: ${name}` });
      const memory = settings('Deleted agents’ memory purged after');
      const audit = settings('Audit events kept');
      const tasks = settings('Finished tasks kept');
      await memory.getByLabel(/days, 1–3650/).waitFor();
      await page.getByRole('button', { name: 'Save' }).first().waitFor();
      expect(await layoutShift(page)).toBeLessThan(0.1); // loading straight into the screen: the rows were laid out before the answers
      const owner = await consoleOwner(acme);
      const retention = async () => expectNoErrors(await gw.execute(ConsoleTenantRetentionDocument, {}, asConsole(owner))).tenant.retention;
      const current = await retention();

      // Out of range: said in words, and not sent.
      await memory.getByLabel(/days, 1–3650/).fill('0');
      await memory.getByRole('button', { name: 'Save' }).click();
      await memory.getByRole('alert').filter({ hasText: 'Choose a whole number of days from 1 to 3650.' }).waitFor();
      await audit.getByLabel(/days, 30–3650/).fill('29');
      await audit.getByRole('button', { name: 'Save' }).click();
      await audit.getByRole('alert').filter({ hasText: 'from 30 to 3650' }).waitFor();
      expect(await retention()).toEqual(current);

      // Within range: saved, shown, and so on the gateway.
      await memory.getByLabel(/days, 1–3650/).fill('45');
      await memory.getByRole('button', { name: 'Save' }).click();
      await memory.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      await tasks.getByLabel(/days, 1–3650/).fill('7');
      await tasks.getByRole('button', { name: 'Save' }).click();
      await tasks.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      await audit.getByLabel(/days, 30–3650/).fill(String(current.auditDays + 10));
      expect(await audit.getByLabel(/Type the tenant’s name/).count()).toBe(0); // longer: nothing is dropped, no confirmation
      await audit.getByRole('button', { name: 'Save' }).click();
      await audit.getByRole('status').filter({ hasText: 'Saved' }).waitFor();

      // Shorter audit retention drops events: the tenant's name first.
      await audit.getByLabel(/days, 30–3650/).fill('60');
      const save = audit.getByRole('button', { name: 'Save' });
      // The confirmation and the disabled button come in one render (Preact's is deferred): wait for the one, then read the other.
      await audit.getByLabel(/Type the tenant’s name/).waitFor();
      expect(await save.isDisabled()).toBe(true);
      await audit.getByLabel(/Type the tenant’s name/).fill('not the name');
      expect(await save.isDisabled()).toBe(true);
      await audit.getByLabel(/Type the tenant’s name/).fill(acme.name);
      await save.click();
      await audit.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect(await retention()).toEqual({
        auditDays: 60,
        memoryPurgeDays: 45,
        taskHistoryDays: 7,
      });
      await page.getByText('60 days', { exact: true }).waitFor();
      await shot(page, 'retention-settings');
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth)).toBe(true);
      await page.setViewportSize({ width: 1280, height: 800 });

      // The gateway's refusal, in words: the tenant frozen meanwhile.
      await gw.operator.freeze(acme.id, 'settings test');
      try {
        await tasks.getByLabel(/days, 1–3650/).fill('8');
        await tasks.getByRole('button', { name: 'Save' }).click();
        await tasks.getByRole('alert').filter({ hasText: 'This tenant is frozen' }).waitFor();
      } finally {
        await gw.operator.unfreeze(acme.id);
      }

      // An admin reads the settings and is offered no form; the gateway refuses an admin anyway.
      const ari = await addMember(owner, { email: 'ari@example.com', name: 'Ari', role: 'ADMIN' });
      const admin = await openTab();
      try {
        await signIn(admin.page, origin, ari.link);
        await admin.page.getByRole('link', { name: 'Retention' }).click();
        await admin.page.getByTestId('retention-read-only').waitFor();
        await admin.page.getByText('60 days', { exact: true }).waitFor();
        expect(await admin.page.getByRole('button', { name: 'Save' }).count()).toBe(0);
      } finally {
        await admin.context.close();
      }
      const ariToken = expectNoErrors(
        await gw.execute(
          ConsoleRedeemSignInLinkDocument,
          { token: (await addMember(owner, { email: 'ari2@example.com', name: 'Ari 2', role: 'ADMIN' })).link },
          asConsole(),
        ),
      ).redeemSignInLink.accessToken;
      expect(errorCodes(await gw.execute(ConsoleSetAuditRetentionDocument, { days: 90 }, asConsole(ariToken)))).toEqual(['FORBIDDEN']);
    } finally {
      await tab.context.close();
    }
  }, 90_000);
});
