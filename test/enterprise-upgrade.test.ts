import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForOperator, tenantSchemaName } from '../src/db/request-scope.ts';
import { upgradeTenantToEnterprise } from '../src/modules/enterprise/upgrade.service.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { ListAgents, VerifyAuditLog } from './support/operations.ts';

const UpgradeTenant = graphql(`
  mutation UpgradeTenant($id: ID!) {
    upgradeTenantToEnterprise(id: $id) { id plan memberCount agentCount }
  }
`);

const operator = { kind: 'operator', operatorId: 'op' } as const;
let gw: Gateway;
let operatorToken: string;
const uuidOf = (globalId: string) => decodeGlobalId(globalId).id;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);

beforeAll(async () => {
  gw = await startGateway();
  operatorToken = (await gw.tokens.issue(operator)).reveal();
});
afterAll(() => gw?.close());

/** A standard tenant with rows in most tenant tables, and a neighbour that must not move. */
async function seedStandard(name: string) {
  const tenant = await gw.seed.tenant(name);
  for (let i = 0; i < 5; i++) await tenant.agent(`${name}-agent-${i}`, { i });
  await tenant.member('ADMIN');
  await tenant.apiKey(['AGENTS_READ', 'AGENTS_WRITE']);
  return tenant;
}

/** Count and checksum of every tenant table, for one tenant, wherever its rows are. */
async function digests(schema: string, tenantId: string) {
  const tables = (await admin('select tenant_tables() as t')).map((r) => r.t as string);
  const out: Record<string, unknown> = {};
  for (const table of tables) out[table] = (await admin('select tenant_table_digest($1, $2, $3) as d', [schema, table, tenantId]))[0]?.d;
  return out;
}

describe('upgrading a standard tenant to enterprise', () => {
  test('moves every row into its schema, verified, leaves none behind, and the tenant goes on working', async () => {
    const acme = await seedStandard('acme');
    const other = await seedStandard('other');
    const id = uuidOf(acme.id);
    const before = await digests('public', id);
    const otherBefore = await digests('public', uuidOf(other.id));
    const { upgradeTenantToEnterprise: upgraded } = expectNoErrors(
      await gw.execute(UpgradeTenant, { id: acme.id }, { token: operatorToken }),
    );
    expect(upgraded).toMatchObject({ plan: 'ENTERPRISE', memberCount: 2, agentCount: 5 });
    const after = await digests(tenantSchemaName(id), id);
    // The audit log gained the upgrade's own event; every other table is byte-for-byte what it was.
    expect({ ...after, audit_events: undefined }).toEqual({ ...before, audit_events: undefined });
    expect((after.audit_events as { rows: number }).rows).toBe((before.audit_events as { rows: number }).rows + 1);
    for (const [table, digest] of Object.entries(await digests('public', id)))
      expect({ table, digest }).toMatchObject({ table, digest: { rows: 0 } });
    expect(await digests('public', uuidOf(other.id))).toEqual(otherBefore);
    const { agents } = expectNoErrors(await gw.execute(ListAgents, { first: 20 }, { token: acme.ownerToken }));
    expect(agents.edges).toHaveLength(5);
    await acme.agent('after-upgrade');
    const { verifyAuditLog } = expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: acme.ownerToken }));
    expect(verifyAuditLog).toMatchObject({ intact: true, brokenAt: null });
    // Once enterprise, no row of it can land in a shared table again.
    await expect(
      admin(`set role fleetgate_owner; select set_config('app.tenant_id', '${id}', false);
             insert into public.agents (id, tenant_id, name, image, created_by) values (gen_random_uuid(), '${id}', 'stray', 'i', 'x')`),
    ).rejects.toThrow(/keeps its rows in its own schema/);
  });

  test('refuses non-operators, enterprise tenants, and a second upgrade', async () => {
    const tenant = await gw.seed.tenant();
    const asOwner = await gw.execute(UpgradeTenant, { id: tenant.id }, { token: tenant.ownerToken });
    expect(asOwner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expectNoErrors(await gw.execute(UpgradeTenant, { id: tenant.id }, { token: operatorToken }));
    const again = await gw.execute(UpgradeTenant, { id: tenant.id }, { token: operatorToken });
    expect(again.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['CONFLICT', 'Refused: not a standard tenant']]);
  });

  test('an upgrade that fails after the copy leaves the tenant exactly as it was', async () => {
    const tenant = await seedStandard('failing');
    const id = uuidOf(tenant.id);
    const before = await digests('public', id);
    await expect(
      forkForOperator(gw.orm).transactional(async (em) => {
        await upgradeTenantToEnterprise({ em, principal: operator, log: gw.log, requestId: 'inject' }, id);
        throw new Error('injected failure after the move, before commit');
      }),
    ).rejects.toThrow(/injected failure/);
    expect(await digests('public', id)).toEqual(before);
    expect(await admin('select plan from tenants where id = $1', [id])).toEqual([{ plan: 'STANDARD' }]);
    expect(await admin('select nspname from pg_namespace where nspname = $1', [tenantSchemaName(id)])).toEqual([]);
  });

  // A child process starting on a loaded machine can take tens of seconds: this test gets two minutes.
  test('a process killed halfway loses nothing; readers meanwhile see the tenant as it was; the upgrade then runs again', {
    timeout: 120_000,
  }, async () => {
    const tenant = await seedStandard('crashing');
    const id = uuidOf(tenant.id);
    const before = await digests('public', id);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/upgrade-child.ts'], {
      env: { ...process.env, APP_URL: gw.appUrl, TENANT_ID: id },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk) => String(chunk).includes('moved') && resolve());
        child.on('exit', (code) => reject(new Error(`upgrade child exited with ${code}`)));
      });
      // Mid-move (copied, verified, shared rows deleted, not committed): the tenant still reads its agents.
      const { agents } = expectNoErrors(await gw.execute(ListAgents, { first: 20 }, { token: tenant.ownerToken }));
      expect(agents.edges).toHaveLength(5);
      child.kill('SIGKILL');
      await waitFor(
        async () =>
          (
            await admin(
              "select count(*)::int as n from pg_stat_activity where state like 'idle in transaction%' and datname = current_database()",
            )
          )[0]?.n === 0,
      );
    } finally {
      child.kill('SIGKILL');
    }
    expect(await digests('public', id)).toEqual(before);
    expect(await admin('select plan from tenants where id = $1', [id])).toEqual([{ plan: 'STANDARD' }]);
    expect(await admin('select nspname from pg_namespace where nspname = $1', [tenantSchemaName(id)])).toEqual([]);
    const { upgradeTenantToEnterprise: upgraded } = expectNoErrors(
      await gw.execute(UpgradeTenant, { id: tenant.id }, { token: operatorToken }),
    );
    expect(upgraded.plan).toBe('ENTERPRISE');
    expect({ ...(await digests(tenantSchemaName(id), id)), audit_events: undefined }).toEqual({ ...before, audit_events: undefined });
  });

  test('a write racing the move waits for it and is then refused, never lost behind it; its retry lands in the new schema', {
    timeout: 90_000,
  }, async () => {
    const tenant = await seedStandard('racing');
    const id = uuidOf(tenant.id);
    let release: () => void = () => undefined;
    let moved: () => void = () => undefined;
    const movedSignal = new Promise<void>((resolve) => {
      moved = resolve;
    });
    const upgrade = forkForOperator(gw.orm).transactional(async (em) => {
      await upgradeTenantToEnterprise({ em, principal: operator, log: gw.log, requestId: 'race' }, id);
      moved();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await movedSignal;
    const racing = tenant.agent('raced').then(
      () => 'created',
      (error: Error) => error.message,
    );
    // Release the move only once the write is really waiting on it (on the tenant row's lock).
    await waitFor(
      async () =>
        (await admin("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"))[0]
          ?.n === 1,
      60_000,
    );
    release();
    await upgrade;
    // Refused by the tier guard, or (when its statements named the tables only after the move
    // committed) written into the new schema; never behind the move in the shared tables.
    const outcome = await racing;
    if (outcome !== 'created') {
      expect(outcome).toMatch(/expected no errors/);
      expect(gw.logs()).toContain('keeps its rows in its own schema');
      await tenant.agent('raced');
    }
    for (const table of ['agents', 'audit_events']) {
      expect({ table, rows: await admin(`select count(*)::int as n from public.${table} where tenant_id = $1`, [id]) }).toEqual({
        table,
        rows: [{ n: 0 }],
      });
    }
    expect(await admin(`select name from ${tenantSchemaName(id)}.agents where name = 'raced'`)).toEqual([{ name: 'raced' }]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
