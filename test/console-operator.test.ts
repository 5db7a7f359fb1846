import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConsoleCreateSignUpInviteDocument as CreateSignUpInvite } from '../console/src/gql/graphql.ts';
import { PublishDocumentsDocument, SignUpDocument } from '../src/generated/operations/graphql.ts';
import { ARTIFACTS, serveToBrowser } from './support/console-browser.ts';
import { expectNoErrors, type Gateway, replicaCanary, startGateway } from './support/gateway.ts';

/**
 * The operator view of the console in a real browser (Debian's chromium) against a production-mode
 * gateway with backups configured: the gateway's readiness (and its lockdown), onboarding a standard
 * tenant (an invitation, then the owner's sign-up) and an enterprise one (its owner's link, opened in
 * another browser), and a tenant's backup, of which the operator sees metadata only.
 */

let gw: Gateway;
let served: Awaited<ReturnType<typeof serveToBrowser>>;
let origin: string;
let browser: Browser;
let operatorToken: string;

beforeAll(async () => {
  gw = await startGateway({ policy: { mode: 'production' }, backups: { dir: await mkdtemp(join(tmpdir(), 'console-backups-')) } });
  served = await serveToBrowser(gw);
  ({ origin, browser } = served);
  operatorToken = await gw.operator.token();
}, 120_000);

afterAll(async () => {
  await served?.close();
  await gw?.close();
});

async function operatorTab() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const bodies: string[] = [];
  page.on(
    'response',
    (response) =>
      void response.text().then(
        (body) => bodies.push(body),
        () => undefined,
      ),
  );
  await page.goto(`${origin}/console/operator`);
  await page.getByLabel('Operator token').fill(operatorToken);
  await page.getByRole('button', { name: 'Open the operator view' }).click();
  await page.getByRole('heading', { name: 'Tenants' }).waitFor();
  return { context, page, bodies };
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/console-${name}.png`, fullPage: true });

describe('the operator view', () => {
  test('onboards a standard tenant by invitation and an enterprise tenant with its owner’s link, and backs one up (metadata only)', async () => {
    const { context, page, bodies } = await operatorTab();
    try {
      await page
        .getByTestId('gateway-state')
        .filter({ hasText: /^(Ready|Degraded)/ })
        .waitFor();

      // Standard: the invitation is shown once; the owner signs up with it (sign-up is by invitation in production).
      const invite = page.getByRole('form', { name: 'Invite a standard tenant’s owner' });
      await invite.getByLabel('Owner email').fill('stan@standard.example');
      await invite.getByRole('button', { name: 'Invite a standard tenant' }).click();
      const inviteToken = (await page.getByTestId('shown-once').textContent()) ?? '';
      expect(inviteToken.length).toBeGreaterThan(20);
      const standardName = `standard-${Date.now()}`;
      expectNoErrors(
        await gw.execute(SignUpDocument, {
          input: { tenantName: standardName, owner: { email: 'stan@standard.example', name: 'Stan' }, inviteToken, deviceLabel: 'seed' },
        }),
      );

      // Enterprise: created here; its owner's one-time link opens the new tenant's console.
      const enterprise = page.getByRole('form', { name: 'Create an enterprise tenant' });
      const enterpriseName = `enterprise-${Date.now()}`;
      await enterprise.getByLabel('Tenant name').fill(enterpriseName);
      await enterprise.getByLabel('Owner’s email').fill('erin@enterprise.example');
      await enterprise.getByLabel('Owner’s name').fill('Erin');
      await enterprise.getByRole('button', { name: 'Create an enterprise tenant' }).click();
      const link = (await page.getByTestId('shown-once').filter({ hasText: '/console#link=' }).textContent()) ?? '';
      expect(link.startsWith(`${origin}/console#link=fgl_`)).toBe(true);
      const owner = await browser.newContext();
      const ownerPage = await owner.newPage();
      await ownerPage.goto(link);
      await ownerPage.getByText('Enterprise (own database schema)').waitFor();
      await ownerPage.getByText('Erin (owner)').waitFor();
      await owner.close();

      await page.reload();
      await page.getByLabel('Operator token').fill(operatorToken);
      await page.getByRole('button', { name: 'Open the operator view' }).click();
      await page.locator(`tr[data-tenant="${standardName}"]`).getByRole('cell', { name: 'standard', exact: true }).waitFor();
      const row = page.locator(`tr[data-tenant="${enterpriseName}"]`);
      await row.getByRole('cell', { name: 'enterprise', exact: true }).waitFor();

      await row.getByRole('button', { name: 'Back up' }).click();
      await page
        .getByTestId('backup')
        .filter({ hasText: `Backup of ${enterpriseName}:` })
        .waitFor();
      await shot(page, 'operator-onboarding');
      // Metadata only: nothing the operator's page received carries the tenants' people.
      expect(bodies.filter((body) => body.includes('erin@enterprise.example') || body.includes('stan@standard.example'))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  test('the isolation canary’s history shows per replica, with the reason of a run that was not OK', async () => {
    await gw.fleetgate.canary.runOnce(); // this replica, named after its host
    await replicaCanary(gw, 'replica-b', { fetch: () => Promise.reject(new Error('the API is unreachable from this replica')) }).runOnce();
    const { context, page } = await operatorTab();
    try {
      const history = page.getByTestId('canary-history');
      await history.locator(`tr[data-replica="${hostname()}"]`).getByText('OK', { exact: true }).waitFor();
      const failing = history.locator('tr[data-replica="replica-b"]');
      await failing.getByText('ERROR', { exact: true }).waitFor();
      await failing.getByText(/^API_PROBE_FAILED/).waitFor();
      await shot(page, 'operator-canary');
    } finally {
      await context.close();
    }
  }, 30_000);

  test('restores a tenant from its backup after typing its name, and says what came back and what did not', async () => {
    const name = `restore-${Date.now()}`;
    expectNoErrors(
      await gw.execute(SignUpDocument, {
        input: { tenantName: name, owner: { email: 'rae@restore.example', name: 'Rae' }, inviteToken: await invite('rae@restore.example') },
      }),
    );
    const { context, page, bodies } = await operatorTab();
    try {
      const row = page.locator(`tr[data-tenant="${name}"]`);
      await row.getByRole('button', { name: 'Back up' }).click();
      await page
        .getByTestId('backup')
        .filter({ hasText: `Backup of ${name}:` })
        .waitFor();
      const form = page.getByRole('form', { name: 'Restore a tenant from a backup' });
      // The newest backup is filled in, and the archive's tenant named.
      const backupId = await form.getByLabel('Backup id').inputValue();
      expect(backupId).toMatch(/^[0-9a-f-]{36}-\d{8}T\d{9}Z\.fgbackup$/);
      await page
        .getByTestId('restore-tenant')
        .filter({ hasText: `This archive is of ${name}.` })
        .waitFor();
      const restore = form.getByRole('button', { name: 'Restore' });
      expect(await restore.isDisabled()).toBe(true);
      await form.getByLabel(/Type the tenant’s name/).fill('not the name');
      expect(await restore.isDisabled()).toBe(true);
      await form.getByLabel(/Type the tenant’s name/).fill(name);
      await restore.click();
      const result = page.getByTestId('restore');
      await result.filter({ hasText: new RegExp(`^Restored ${name} into schema tenant_[0-9a-f]{32}_restore_`) }).waitFor();
      await result.getByText(/Every agent’s memory in the archive was restored/).waitFor();
      await shot(page, 'operator-restore');

      // The same archive into a new schema again: that schema is taken; refused in words.
      await form.getByLabel(/Type the tenant’s name/).fill(name);
      await restore.click();
      await page.getByRole('alert').filter({ hasText: 'The target schema is not empty' }).waitFor();
      // A name with no archive behind it.
      await form.getByLabel('Backup id').fill(backupId.replace(/-\d{8}T/, '-20000101T'));
      await form.getByLabel(/Type the tenant’s name/).fill(name);
      await restore.click();
      await page.getByRole('alert').filter({ hasText: 'No such backup here' }).waitFor();
      expect(bodies.filter((body) => body.includes('rae@restore.example'))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test('lists the platform’s client apps by version and retires one, never the version this console runs', async () => {
    const operatorToken = await gw.operator.token();
    const text = 'query OldConsoleMe { me { id } }';
    const documents = { [`sha256:${createHash('sha256').update(text).digest('hex')}`]: text };
    expectNoErrors(
      await gw.execute(
        PublishDocumentsDocument,
        { input: { app: 'console', version: 'build-old', documents, platform: true } },
        { token: operatorToken },
      ),
    );
    const { context, page } = await operatorTab();
    try {
      const old = page.locator('tr[data-platform-version="console@build-old"]');
      await old.getByRole('cell', { name: '1', exact: true }).waitFor();
      // The version this page runs is marked, not offered.
      const running = page.locator('tr[data-platform-version^="console@"]').filter({ hasText: 'this console' });
      expect(await running.count()).toBe(1);
      expect(await running.getByRole('button').count()).toBe(0);
      expect(await page.locator('tr[data-platform-version^="fleetgate@"]').count()).toBeGreaterThan(0);
      page.once('dialog', (dialog) => void dialog.accept());
      await old.getByRole('button', { name: 'Retire console build-old' }).click();
      await old.getByText(/^retired/).waitFor();
      await shot(page, 'operator-apps');
      // The page still works: its own version was not touched.
      await page.reload();
      await page.getByLabel('Operator token').fill(operatorToken);
      await page.getByRole('button', { name: 'Open the operator view' }).click();
      await page
        .locator('tr[data-platform-version="console@build-old"]')
        .getByText(/^retired/)
        .waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);

  // Last: the gateway stays locked down (a canary run during lockdown reports an exposure).
  test('a gateway in lockdown says so in the operator view', async () => {
    const { context, page } = await operatorTab();
    try {
      gw.fleetgate.gate.lockDown('console test: a simulated exposure');
      await page.reload();
      await page.getByLabel('Operator token').fill(operatorToken);
      await page.getByRole('button', { name: 'Open the operator view' }).click();
      await page
        .getByTestId('gateway-state')
        .filter({ hasText: /^LOCKED DOWN/ })
        .waitFor();
      await shot(page, 'operator-lockdown');
    } finally {
      await context.close();
    }
  }, 30_000);
});

/** An invitation to sign up (sign-up is by invitation in production). */
async function invite(email: string): Promise<string> {
  const { createSignUpInvite } = expectNoErrors(
    await gw.execute(CreateSignUpInvite, { email }, { token: operatorToken, headers: { 'x-graphql-client-name': 'console' } }),
  );
  return createSignUpInvite;
}
