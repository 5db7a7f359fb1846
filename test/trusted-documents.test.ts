import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import consoleManifest from '../console/src/gql/persisted-documents.json' with { type: 'json' };
import manifest from '../src/generated/operations/persisted-documents.json' with { type: 'json' };
import { ADMIN_URL, adminQuery } from './support/database.ts';
import { type Gateway, startGateway } from './support/gateway.ts';
import { type Replicas, startReplicas } from './support/replicas.ts';
import { millisUntil } from './support/wait.ts';

/** sha256 as the client preset computes it: of the document string exactly as published. */
const hashOf = (document: string) => `sha256:${createHash('sha256').update(document).digest('hex')}`;
const manifestOf = (...documents: string[]) => Object.fromEntries(documents.map((document) => [hashOf(document), document]));

const TENANT_NAME = 'query TenantName { tenant { name } }';
const AGENT_COUNT = 'query AgentCount { tenant { agentCount } }';
const PUBLISH = `mutation Publish($input: PublishDocumentsInput!) {
  publishDocuments(input: $input) { app { name platform versions { version documentCount retiredAt } } }
}`;
const RETIRE = `mutation Retire($input: RetireDocumentsVersionInput!) {
  retireDocumentsVersion(input: $input) { app { name versions { version retiredAt } } }
}`;
const CLIENT_APPS =
  'query Apps($platform: Boolean) { clientApps(platform: $platform) { name platform versions { version documentCount } } }';

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** POSTs to a gateway (an in-process yoga or a replica's URL) with an optional token and client app headers. */
async function post(
  target: Gateway | string,
  payload: Record<string, unknown>,
  options: { token?: string; app?: string; version?: string } = {},
): Promise<Answer> {
  const init = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.app ? { 'x-graphql-client-name': options.app } : {}),
      ...(options.version ? { 'x-graphql-client-version': options.version } : {}),
    },
    body: JSON.stringify(payload),
  };
  const response = typeof target === 'string' ? await fetch(target, init) : await target.yoga.fetch('http://gateway.test/graphql', init);
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** One root field of an answer's data, failing the test with the whole answer when it is missing. */
function field<T>(answer: Answer, name: string): T {
  const value = answer.body.data?.[name];
  if (value === undefined || value === null) throw new Error(`no ${name} in ${JSON.stringify(answer.body)}`);
  return value as T;
}
const codes = (answer: Answer) => answer.body.errors?.map((error) => error.extensions?.code) ?? [];
const byHash = (document: string, variables: Record<string, unknown> = {}) => ({ documentId: hashOf(document), variables });
/** A tenant id from a Tenant global id. */
const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1] as string;

async function signUp(target: Gateway | string, name: string, app?: string): Promise<{ token: string; tenantId: string }> {
  const gatewayOp = Object.entries(manifest).find(([, document]) => document.startsWith('mutation SignUp'));
  if (!gatewayOp) throw new Error('SignUp is not in the gateway manifest');
  const answer = await post(
    target,
    { documentId: gatewayOp[0], variables: { input: { tenantName: name, owner: { email: `${name}@example.com`, name } } } },
    { app },
  );
  expect(answer.body.errors).toBeUndefined();
  const data = field<{ session: { accessToken: string }; tenant: { id: string } }>(answer, 'signUp');
  return { token: data.session.accessToken, tenantId: data.tenant.id };
}

describe('trusted documents on one production gateway', () => {
  let gw: Gateway;
  let operator: string;
  beforeAll(async () => {
    gw = await startGateway({ policy: { mode: 'production' } });
    operator = await gw.operator.token();
  });
  afterAll(() => gw?.close());

  test('a fresh production deployment runs the gateway’s own operations: sign-up, the tenant, the audit log', async () => {
    const acme = await signUp(gw, `acme-${Date.now()}`);
    const own = Object.entries(manifest).find(([, document]) => document.startsWith('query OwnTenant'));
    const audit = Object.entries(manifest).find(([, document]) => document.startsWith('query AuditLog'));
    expect((await post(gw, { documentId: own?.[0] }, { token: acme.token })).body.errors).toBeUndefined();
    const log = await post(gw, { documentId: audit?.[0], variables: { first: 5 } }, { token: acme.token });
    expect(log.body.errors).toBeUndefined();
    // The platform apps (the gateway's own and the console's) are listed for operators, seeded once however many replicas start.
    const apps = await post(gw, { query: CLIENT_APPS, variables: { platform: true } }, { token: operator });
    expect(apps.body.data?.clientApps).toEqual([
      {
        name: 'console',
        platform: true,
        versions: [{ version: expect.stringMatching(/^build-[0-9a-f]{12}$/), documentCount: Object.keys(consoleManifest).length }],
      },
      {
        name: 'fleetgate',
        platform: true,
        versions: [{ version: expect.stringMatching(/^build-[0-9a-f]{12}$/), documentCount: Object.keys(manifest).length }],
      },
    ]);
    // Users still cannot send arbitrary operations in production.
    expect(codes(await post(gw, { query: TENANT_NAME }, { token: acme.token }))).toEqual(['PERSISTED_QUERY_ONLY']);
    // Nor smuggle one beside a hash: a request naming a hash runs the published document, never its own text.
    const smuggled = await post(gw, { documentId: own?.[0], query: '{ __schema { types { name } } }' }, { token: acme.token });
    expect(smuggled.body.errors).toBeUndefined();
    expect(Object.keys(smuggled.body.data ?? {})).toEqual(['tenant']);
  });

  test('an owner publishes an app, runs it by hash with the headers, retires the version, and its hashes stop', async () => {
    const acme = await signUp(gw, `pub-${Date.now()}`);
    const publishHash = Object.entries(manifest).find(([, document]) => document.startsWith('mutation PublishDocuments'))?.[0];
    const retireHash = Object.entries(manifest).find(([, document]) => document.startsWith('mutation RetireDocumentsVersion'))?.[0];
    const published = await post(
      gw,
      { documentId: publishHash, variables: { input: { app: 'web', version: '1.4.0', documents: manifestOf(TENANT_NAME) } } },
      { token: acme.token },
    );
    expect(published.body.errors).toBeUndefined();
    expect(published.body.data?.publishDocuments).toMatchObject({
      app: { name: 'web', platform: false, versions: [{ version: '1.4.0', documentCount: 1 }] },
    });

    const run = () => post(gw, byHash(TENANT_NAME), { token: acme.token, app: 'web' });
    expect((await run()).body.data).toEqual({ tenant: { name: expect.stringMatching(/^pub-/) } });
    expect((await post(gw, byHash(TENANT_NAME), { token: acme.token, app: 'web', version: '1.4.0' })).body.errors).toBeUndefined();
    // Another version named, or no app named (the gateway's own app): not this document.
    expect(codes(await post(gw, byHash(TENANT_NAME), { token: acme.token, app: 'web', version: '1.3.0' }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
    expect(codes(await post(gw, byHash(TENANT_NAME), { token: acme.token }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    // Republishing a version is refused: published versions never change.
    const again = await post(
      gw,
      { documentId: publishHash, variables: { input: { app: 'web', version: '1.4.0', documents: manifestOf(AGENT_COUNT) } } },
      { token: acme.token },
    );
    expect(codes(again)).toEqual(['CONFLICT']);

    const retired = await post(
      gw,
      { documentId: retireHash, variables: { input: { app: 'web', version: '1.4.0' } } },
      { token: acme.token },
    );
    expect(retired.body.errors).toBeUndefined();
    await millisUntil(async () => codes(await run())[0] === 'PERSISTED_QUERY_NOT_IN_LIST', 1_000);
  });

  test('a manifest with one invalid operation is refused whole, naming it; wrong hashes and over-limit documents too', async () => {
    const acme = await signUp(gw, `bad-${Date.now()}`);
    const broken = 'query Broken { tenant { noSuchField } }';
    const aliased = `query TooManyAliases { ${Array.from({ length: 16 }, (_, i) => `a${i}: tenant { name }`).join(' ')} }`;
    const cases: [Record<string, string>, RegExp][] = [
      [manifestOf(TENANT_NAME, broken), /operation Broken \(sha256:[0-9a-f]{64}\) is invalid: Cannot query field "noSuchField"/],
      [{ [hashOf(AGENT_COUNT)]: TENANT_NAME }, /operation TenantName .* the hash is not the SHA-256 of the document/],
      [manifestOf(TENANT_NAME, aliased), /operation TooManyAliases .* is invalid/],
      [manifestOf('query Two { tenant { name } } query Three { me { id } }'), /exactly one operation/],
    ];
    for (const [documents, message] of cases) {
      const answer = await post(
        gw,
        { query: PUBLISH, variables: { input: { app: 'web', version: '1.0.0', documents } } },
        { token: operator },
      );
      expect(codes(answer)).toEqual(['FORBIDDEN']); // an operator publishes platform apps only
      const refused = await publishAs(acme.token, 'web', '1.0.0', documents);
      expect(codes(refused), JSON.stringify(refused.body)).toEqual(['BAD_USER_INPUT']);
      expect(refused.body.errors?.[0]?.message).toMatch(message);
    }
    // Nothing of the refused manifests was written: the good operation beside the bad one does not run.
    expect(codes(await post(gw, byHash(TENANT_NAME), { token: acme.token, app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const apps = await post(gw, { documentId: clientAppsHash(), variables: {} }, { token: acme.token });
    expect(apps.body.data?.clientApps).toEqual([]);
  });

  test('a key bound to app X runs X’s documents only, never app Y’s nor the gateway’s own', async () => {
    const acme = await signUp(gw, `bind-${Date.now()}`);
    expect((await publishAs(acme.token, 'x', '1', manifestOf(TENANT_NAME))).body.errors).toBeUndefined();
    expect((await publishAs(acme.token, 'y', '1', manifestOf(AGENT_COUNT))).body.errors).toBeUndefined();
    const createKey = Object.entries(manifest).find(([, d]) => d.startsWith('mutation CreateApiKey'));
    // Keys are created in development or through an app that publishes createApiKey: here the owner publishes it.
    const keyDoc = 'mutation MakeKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { clientApp } } }';
    expect(createKey).toBeUndefined();
    expect((await publishAs(acme.token, 'admin', '1', manifestOf(keyDoc))).body.errors).toBeUndefined();
    const made = await post(gw, byHash(keyDoc, { input: { name: 'integration', scopes: ['AGENTS_READ'], clientApp: 'x' } }), {
      token: acme.token,
      app: 'admin',
    });
    expect(made.body.errors).toBeUndefined();
    const { key, apiKey } = field<{ key: string; apiKey: { clientApp: string } }>(made, 'createApiKey');
    expect(apiKey.clientApp).toBe('x');

    expect((await post(gw, byHash(TENANT_NAME), { token: key })).body.data).toEqual({ tenant: { name: expect.any(String) } });
    expect((await post(gw, byHash(TENANT_NAME), { token: key, app: 'x' })).body.errors).toBeUndefined();
    const other = await post(gw, byHash(AGENT_COUNT), { token: key, app: 'y' });
    expect(other.status).toBe(403);
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expect(codes(await post(gw, byHash(AGENT_COUNT), { token: key }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const listAgents = Object.keys(manifest).find((hash) => manifest[hash as keyof typeof manifest].startsWith('query ListAgents'));
    expect(codes(await post(gw, { documentId: listAgents, variables: { first: 1 } }, { token: key }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
  });

  test('a session opened through app X is bound to it: its tokens run X’s documents only, refreshed ones too', async () => {
    const owner = await signUp(gw, `sess-${Date.now()}`);
    // Sign-in happens before a tenant is known: an app that signs people in is a platform app.
    const redeem = manifestDocument('mutation RedeemSignInLink');
    const refresh = manifestDocument('mutation RefreshSession');
    const published = await post(
      gw,
      {
        query: PUBLISH,
        variables: { input: { app: 'portal', version: '1', platform: true, documents: manifestOf(redeem, refresh, TENANT_NAME) } },
      },
      { token: operator },
    );
    expect(published.body.errors).toBeUndefined();
    const addMember = 'mutation AddPortalMember($input: AddMemberInput!) { addMember(input: $input) { signInToken } }';
    expect((await publishAs(owner.token, 'admin', '1', manifestOf(addMember))).body.errors).toBeUndefined();
    const added = await post(gw, byHash(addMember, { input: { email: `m-${Date.now()}@example.com`, name: 'member', role: 'MEMBER' } }), {
      token: owner.token,
      app: 'admin',
    });
    const signInToken = field<{ signInToken: string }>(added, 'addMember').signInToken;
    const redeemed = await post(gw, byHash(redeem, { token: signInToken }), { app: 'portal' });
    expect(redeemed.body.errors).toBeUndefined();
    const session = field<{ accessToken: string; refreshToken: string }>(redeemed, 'redeemSignInLink');

    for (const token of [session.accessToken]) {
      expect((await post(gw, byHash(TENANT_NAME), { token })).body.errors).toBeUndefined(); // its app by default
      expect((await post(gw, byHash(TENANT_NAME), { token, app: 'portal' })).body.errors).toBeUndefined();
      const elsewhere = await post(gw, { documentId: operationHash('query OwnTenant') }, { token, app: 'fleetgate' });
      expect(elsewhere.status).toBe(403);
      expect(codes(elsewhere)).toEqual(['FORBIDDEN']);
      expect(codes(await post(gw, { documentId: operationHash('query OwnTenant') }, { token }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    }
    // A refreshed token belongs to the same session, bound to the same app.
    const refreshed = await post(gw, byHash(refresh, { refreshToken: session.refreshToken }), { app: 'portal' });
    expect(refreshed.body.errors).toBeUndefined();
    const next = field<{ accessToken: string }>(refreshed, 'refreshSession').accessToken;
    expect(codes(await post(gw, { documentId: operationHash('query OwnTenant') }, { token: next }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
    expect((await post(gw, byHash(TENANT_NAME), { token: next })).body.errors).toBeUndefined();
  });

  test('tenant A cannot see, run or retire tenant B’s apps, and cannot publish for the platform', async () => {
    const a = await signUp(gw, `a-${Date.now()}`);
    const b = await signUp(gw, `b-${Date.now()}`);
    const secret = 'query BSecret { tenant { name memberCount } }';
    expect((await publishAs(b.token, 'web', '1', manifestOf(secret))).body.errors).toBeUndefined();
    expect((await post(gw, byHash(secret), { token: b.token, app: 'web' })).body.errors).toBeUndefined();
    // A names B's app and hash: its own tenant has no such app, and B's is never consulted.
    expect(codes(await post(gw, byHash(secret), { token: a.token, app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect((await post(gw, { documentId: clientAppsHash() }, { token: a.token })).body.data?.clientApps).toEqual([]);
    const retire = await post(gw, { documentId: retireHash(), variables: { input: { app: 'web', version: '1' } } }, { token: a.token });
    expect(codes(retire)).toEqual(['NOT_FOUND']);
    const platform = await post(
      gw,
      {
        documentId: publishHash(),
        variables: { input: { app: 'fleetgate', version: 'evil', platform: true, documents: manifestOf(secret) } },
      },
      { token: a.token },
    );
    expect(codes(platform)).toEqual(['FORBIDDEN']);
    // Anonymous callers reach platform apps only.
    expect(codes(await post(gw, byHash(secret), { app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    // B's app still runs for B.
    expect((await post(gw, byHash(secret), { token: b.token, app: 'web' })).body.errors).toBeUndefined();
  });

  test('operators publish and retire platform apps every tenant may run', async () => {
    const a = await signUp(gw, `plat-${Date.now()}`);
    const console = 'query ConsoleTenant { tenant { name agentCount } }';
    const published = await post(
      gw,
      {
        query: PUBLISH,
        variables: { input: { app: 'fleetgate-console', version: '2.0.0', platform: true, documents: manifestOf(console) } },
      },
      { token: operator },
    );
    expect(published.body.errors).toBeUndefined();
    await millisUntil(async () => !(await post(gw, byHash(console), { token: a.token, app: 'fleetgate-console' })).body.errors, 1_000);
    await post(
      gw,
      { query: RETIRE, variables: { input: { app: 'fleetgate-console', version: '2.0.0', platform: true } } },
      { token: operator },
    );
    await millisUntil(
      async () => codes(await post(gw, byHash(console), { token: a.token, app: 'fleetgate-console' }))[0] === 'PERSISTED_QUERY_NOT_IN_LIST',
      1_000,
    );
  });

  test('metrics count trusted documents per published app, version and operation', async () => {
    const a = await signUp(gw, `met-${Date.now()}`);
    expect((await publishAs(a.token, 'metrics-app', '3.1.0', manifestOf(TENANT_NAME))).body.errors).toBeUndefined();
    for (let i = 0; i < 3; i++) await post(gw, byHash(TENANT_NAME), { token: a.token, app: 'metrics-app' });
    await post(gw, byHash(TENANT_NAME), { token: a.token, app: 'never-published' });
    const text = await gw.fleetgate.metrics.registry.metrics();
    expect(text).toContain(
      'fleetgate_operation_duration_seconds_count{operation_type="query",operation_name="TenantName",outcome="ok",app="metrics-app",version="3.1.0"} 3',
    );
    expect(text).not.toContain('never-published');
    // An arbitrary operation's series carry no app label at all.
    expect(text).toMatch(
      /fleetgate_operation_duration_seconds_count\{operation_type="mutation",operation_name="[A-Za-z]+",outcome="ok"\} \d+/,
    );
  });

  async function publishAs(token: string, app: string, version: string, documents: Record<string, string>) {
    return post(gw, { documentId: publishHash(), variables: { input: { app, version, documents } } }, { token });
  }
});

describe('the walls behind the registry', () => {
  test('with RLS alone (the ORM connects as the app role, raw SQL naming another tenant) no row of tenant B is read or retired', async () => {
    const gw = await startGateway({ policy: { mode: 'production' } });
    try {
      const a = await signUp(gw, `wa-${Date.now()}`);
      const b = await signUp(gw, `wb-${Date.now()}`);
      const doc = 'query WallDoc { tenant { name } }';
      const published = await post(
        gw,
        { documentId: publishHash(), variables: { input: { app: 'web', version: '1', documents: manifestOf(doc) } } },
        { token: b.token },
      );
      expect(published.body.errors).toBeUndefined();
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: gw.appUrl });
      await client.connect();
      try {
        await client.query('begin');
        await client.query("select set_config('app.tenant_id', $1, true)", [rawId(a.tenantId)]);
        // Wall 2 removed: the statement itself names B's tenant; RLS still shows nothing.
        const rows = await client.query('select * from client_app_versions where tenant_id = $1', [rawId(b.tenantId)]);
        expect(rows.rows).toEqual([]);
        const retired = await client.query('update client_app_versions set retired_at = now() where tenant_id = $1', [rawId(b.tenantId)]);
        expect(retired.rowCount).toBe(0);
        await expect(client.query('select * from platform_client_app_versions')).resolves.toMatchObject({ rows: [] });
        await expect(client.query("insert into platform_client_apps (id, name) values (gen_random_uuid(), 'evil')")).rejects.toMatchObject({
          code: '42501',
        });
        await client.query('rollback');
        // Published versions cannot be edited in place, even by their own tenant.
        await client.query('begin');
        await client.query("select set_config('app.tenant_id', $1, true)", [rawId(b.tenantId)]);
        await expect(client.query("update client_app_versions set documents = '{}'::jsonb")).rejects.toMatchObject({ code: '42501' });
        await client.query('rollback');
      } finally {
        await client.end();
      }
      expect((await post(gw, byHash(doc), { token: b.token, app: 'web' })).body.errors).toBeUndefined();
    } finally {
      await gw.close();
    }
  });

  test('with resolver scopes removed, the service still refuses members, API keys and tenants publishing for the platform', async () => {
    const gw = await startGateway({ disableScopeAuth: true });
    try {
      const acme = await gw.seed.tenant();
      const member = await acme.member('MEMBER');
      const { key } = await acme.apiKey(['AGENTS_READ', 'AGENTS_WRITE']);
      const input = { app: 'web', version: '1', documents: manifestOf(TENANT_NAME) };
      expect(codes(await post(gw, { query: PUBLISH, variables: { input } }, { token: member.token }))).toEqual(['FORBIDDEN']);
      expect(
        codes(await post(gw, { query: PUBLISH, variables: { input: { ...input, platform: true } } }, { token: acme.ownerToken })),
      ).toEqual(['FORBIDDEN']);
      expect(codes(await post(gw, { query: CLIENT_APPS, variables: { platform: true } }, { token: acme.ownerToken }))).toEqual([
        'FORBIDDEN',
      ]);
      expect(codes(await post(gw, { query: CLIENT_APPS }, { token: member.token }))).toEqual(['FORBIDDEN']);
      // An API key sends no raw query at all; by hash it runs only published documents, and publishing is not among them.
      expect(codes(await post(gw, { query: PUBLISH, variables: { input } }, { token: key }))).toEqual(['PERSISTED_QUERY_ONLY']);
    } finally {
      await gw.close();
    }
  });

  test('with RLS removed (the ORM as superuser), the lookup still keys on the requesting tenant: A never runs B’s documents', async () => {
    const gw = await startGateway({ policy: { mode: 'production' }, ormUrl: ADMIN_URL });
    try {
      const a = await signUp(gw, `ra-${Date.now()}`);
      const b = await signUp(gw, `rb-${Date.now()}`);
      const doc = 'query NoRls { tenant { name } }';
      const published = await post(
        gw,
        { documentId: publishHash(), variables: { input: { app: 'web', version: '1', documents: manifestOf(doc) } } },
        { token: b.token },
      );
      expect(published.body.errors).toBeUndefined();
      expect((await post(gw, byHash(doc), { token: b.token, app: 'web' })).body.errors).toBeUndefined();
      expect(codes(await post(gw, byHash(doc), { token: a.token, app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      expect((await post(gw, { documentId: clientAppsHash() }, { token: a.token })).body.data?.clientApps).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});

describe('an enterprise tenant’s apps', () => {
  test('live in its own schema, run by hash there, and are invisible to a standard tenant', async () => {
    const gw = await startGateway();
    try {
      const operator = await gw.operator.token();
      const bank = await gw.seed.tenant(`bank-${Date.now()}`, { enterpriseBy: operator });
      const shop = await gw.seed.tenant(`shop-${Date.now()}`);
      const doc = 'query BankName { tenant { name } }';
      const published = await post(
        gw,
        { query: PUBLISH, variables: { input: { app: 'teller', version: '1', documents: manifestOf(doc) } } },
        {
          token: bank.ownerToken,
        },
      );
      expect(published.body.errors).toBeUndefined();
      const schema = `tenant_${rawId(bank.id).replace(/-/g, '')}`;
      const inSchema = await adminQuery(gw.database.adminUrl, `select count(*)::int as n from ${schema}.client_app_versions`);
      const inPublic = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from public.client_app_versions');
      expect([inSchema.rows[0]?.n, inPublic.rows[0]?.n]).toEqual([1, 0]);
      expect(field(await post(gw, byHash(doc), { token: bank.ownerToken, app: 'teller' }), 'tenant')).toEqual({ name: bank.name });
      expect(codes(await post(gw, byHash(doc), { token: shop.ownerToken, app: 'teller' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      // Retired there, refused at once (the schema's copy of the trigger notifies like the shared table's).
      await post(gw, { query: RETIRE, variables: { input: { app: 'teller', version: '1' } } }, { token: bank.ownerToken });
      await millisUntil(
        async () => codes(await post(gw, byHash(doc), { token: bank.ownerToken, app: 'teller' }))[0] === 'PERSISTED_QUERY_NOT_IN_LIST',
        1_000,
      );
    } finally {
      await gw.close();
    }
  });
});

describe('publish and retire across two gateway processes on one database', () => {
  let replicas: Replicas | undefined;
  afterAll(async () => {
    await replicas?.stop();
  });

  test('published through replica 1, the hash runs on replica 2; retired through replica 1, replica 2 refuses it within one second', async () => {
    replicas = await startReplicas(2, {
      FLEETGATE_MODE: 'production',
      NODE_ENV: 'production',
      SIGN_UP: 'open',
      SIGN_UP_PER_IP_PER_HOUR: '100000',
    });
    const [one, two] = replicas.urls as [string, string];
    const home = replicas.home;
    // Production mode: a raw query from a user is refused on both.
    const acme = await signUp(one, `two-${Date.now()}`);
    expect(codes(await post(two, { query: TENANT_NAME }, { token: acme.token }))).toEqual(['PERSISTED_QUERY_ONLY']);

    // Replica 2 has looked the app up (and remembers that there is none) before the publish.
    expect(codes(await post(two, byHash(TENANT_NAME), { token: acme.token, app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const published = await post(
      one,
      { documentId: publishHash(), variables: { input: { app: 'web', version: '1.4.0', documents: manifestOf(TENANT_NAME) } } },
      { token: acme.token },
    );
    expect(published.body.errors).toBeUndefined();
    const runOnTwo = () => post(two, byHash(TENANT_NAME), { token: acme.token, app: 'web', version: '1.4.0' });
    const shownAfter = await millisUntil(async () => !(await runOnTwo()).body.errors, 1_000);
    expect((await runOnTwo()).body.data).toEqual({ tenant: { name: expect.stringMatching(/^two-/) } });

    // Warm on both, then retire through replica 1.
    expect((await post(one, byHash(TENANT_NAME), { token: acme.token, app: 'web' })).body.errors).toBeUndefined();
    const retired = await post(
      one,
      { documentId: retireHash(), variables: { input: { app: 'web', version: '1.4.0' } } },
      { token: acme.token },
    );
    expect(retired.body.errors).toBeUndefined();
    const goneAfter = await millisUntil(async () => codes(await runOnTwo())[0] === 'PERSISTED_QUERY_NOT_IN_LIST', 1_000);
    expect(codes(await post(one, byHash(TENANT_NAME), { token: acme.token, app: 'web' }))).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    console.log(`replica 2 ran the published hash after ${shownAfter} ms and refused the retired one after ${goneAfter} ms`);

    // The CLI publishes the client preset's output through replica 2.
    const file = join(home, 'manifest.json');
    await writeFile(file, JSON.stringify(manifestOf(AGENT_COUNT)));
    const cli = await runCli(['--app', 'web', '--version', '1.5.0', file], { FLEETGATE_URL: two, FLEETGATE_TOKEN: acme.token });
    expect(cli.code, cli.output).toBe(0);
    expect(cli.output).toContain('web 1.5.0: 1 operation published');
    expect(cli.output).not.toContain(acme.token);
    await millisUntil(async () => !(await post(one, byHash(AGENT_COUNT), { token: acme.token, app: 'web' })).body.errors, 1_000);
    const bad = join(home, 'bad.json');
    await writeFile(bad, JSON.stringify(manifestOf('query Nope { nope }')));
    const refused = await runCli(['--app', 'web', '--version', '1.6.0', bad], { FLEETGATE_URL: two, FLEETGATE_TOKEN: acme.token });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/operation Nope \(sha256:[0-9a-f]{64}\) is invalid/);
  }, 300_000);
});

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/documents-publish.ts', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    output += String(chunk);
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

function operationHash(prefix: string): string {
  return hashOf(manifestDocument(prefix));
}
function manifestDocument(prefix: string): string {
  const found = Object.values(manifest).find((document) => document.startsWith(prefix));
  if (!found) throw new Error(`${prefix} is not in the gateway manifest`);
  return found;
}
const publishHash = () => operationHash('mutation PublishDocuments');
const retireHash = () => operationHash('mutation RetireDocumentsVersion');
const clientAppsHash = () => operationHash('query ClientApps');
