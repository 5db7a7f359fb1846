import { spawn } from 'node:child_process';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tenantSchemaName, tenantSearchPath } from '../src/db/request-scope.ts';
import { canonicalEncoding, eventHash, GENESIS_HASH } from '../src/modules/audit/chain.ts';
import { asOwner, uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditEventsPage, AuditLog, CreateAgent, UpdateAgent, VerifyAuditLog } from './support/operations.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

/** A tenant with five events: signUp, three agents created, one updated. */
async function tenantWithEvents() {
  const tenant = await gw.seed.tenant();
  const agent = await tenant.agent('a1');
  await tenant.agent('a2');
  await tenant.agent('a3');
  expectNoErrors(await gw.execute(UpdateAgent, { input: { id: agent.id, description: 'x' } }, { token: tenant.ownerToken }));
  return { ...tenant, uuid: uuidOf(tenant.id) };
}

async function verify(token: string) {
  return expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token })).verifyAuditLog;
}

async function events(tenantId: string) {
  const { rows } = await adminQuery<{ seq: string; id: string }>(
    gw.database.adminUrl,
    'select seq::text, id::text from audit_events where tenant_id = $1 order by seq',
    [tenantId],
  );
  return rows;
}

describe('the chain', () => {
  test('each event links to the previous one, from genesis, and verifies intact', async () => {
    const acme = await tenantWithEvents();
    const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 100 }, { token: acme.ownerToken }));
    const nodes = auditLog.edges.map((edge) => edge.node);
    expect(nodes.map((node) => node.seq)).toEqual(['1', '2', '3', '4', '5']);
    expect(nodes[0]?.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < nodes.length; i++) expect(nodes[i]?.prevHash).toBe(nodes[i - 1]?.hash);
    expect(await verify(acme.ownerToken)).toEqual({
      intact: true,
      eventsChecked: 5,
      firstSeq: '1',
      lastSeq: '5',
      headHash: nodes[4]?.hash,
      checkpointSeq: null,
      brokenAt: null,
    });
  });

  test('chains are per tenant: another tenant’s events do not move this one’s seq', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await b.agent();
    await a.agent();
    const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 100 }, { token: a.ownerToken }));
    expect(auditLog.edges.map((edge) => edge.node.seq)).toEqual(['1', '2']);
  });

  test('the deprecated auditEvents pages the same log in chain order, the seq as cursor', async () => {
    const acme = await tenantWithEvents();
    const page = async (after?: string) =>
      expectNoErrors(await gw.execute(AuditEventsPage, { first: 2, after }, { token: acme.ownerToken })).auditEvents;
    const first = await page();
    expect(first.edges.map((edge) => [edge.cursor, edge.node.seq])).toEqual([
      ['1', '1'],
      ['2', '2'],
    ]);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: '2' });
    const third = await page((await page('2')).pageInfo.endCursor ?? undefined);
    expect(third.edges.map((edge) => edge.node.seq)).toEqual(['5']);
    expect(third.pageInfo.hasNextPage).toBe(false);
    expect(errorCodes(await gw.execute(AuditEventsPage, { first: 2, after: acme.uuid }, { token: acme.ownerToken }))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  test('the documented encoding: the database and the TypeScript verifier hash a fixed event identically', async () => {
    const event = {
      tenantId: '0190a0b0-0000-7000-8000-000000000001',
      seq: '42',
      id: '0190a0b0-0000-7000-8000-0000000000aa',
      createdAt: '2024-06-01T12:34:56.789012Z',
      actorType: 'USER',
      actorId: 'ann',
      action: 'agent.create',
      targetType: 'Agent',
      targetId: null,
      outcome: 'SUCCESS',
      requestId: 'req-1',
      detail: '{"name": "scöut"}',
      prevHash: GENESIS_HASH,
    };
    expect(canonicalEncoding(event)).toBe(
      '18:fleetgate-audit-v1,36:0190a0b0-0000-7000-8000-000000000001,2:42,36:0190a0b0-0000-7000-8000-0000000000aa,' +
        '27:2024-06-01T12:34:56.789012Z,4:USER,3:ann,12:agent.create,5:Agent,-,7:SUCCESS,5:req-1,18:{"name": "scöut"},' +
        `64:${GENESIS_HASH},`,
    );
    const { rows } = await adminQuery<{ hash: string }>(
      gw.database.adminUrl,
      `select encode(audit_event_hash($1, $2, $3, $4, 'USER', 'ann', 'agent.create', 'Agent', null, 'SUCCESS', 'req-1', $5, $6), 'hex') as hash`,
      [event.tenantId, event.seq, event.id, '2024-06-01 12:34:56.789012+00', event.detail, Buffer.alloc(32)],
    );
    expect(rows[0]?.hash).toBe(eventHash(event));
  });
});

describe('the trigger writes the documented encoding (audit_events_chain computes it inline)', () => {
  // Awkward values (NULLs, multi-byte UTF-8, nested JSON, quotes and backslashes) appended by the
  // chain trigger on both tiers; the TypeScript verifier recomputes every hash from the columns.
  test.each(['standard', 'enterprise'] as const)('for any content, on a %s tenant', async (tier) => {
    const operatorToken = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    const tenant = tier === 'enterprise' ? await gw.seed.tenant(undefined, { enterpriseBy: operatorToken }) : await gw.seed.tenant();
    const uuid = uuidOf(tenant.id);
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("select set_config('app.tenant_id', $1, true), set_config('search_path', $2, true)", [
        uuid,
        tenantSearchPath(uuid),
      ]);
      const rows: [string, string, string | null, string | null, string | null, string][] = [
        ['USER', 'ünïcødé-👩‍💻', null, null, null, '{}'],
        ['SYSTEM', 'x', 'Agent', '日本語', 'req-é', '{"name": "scöut", "n": [1, 2.50, {"a": "\\u00e9"}], "q": "\\"\\\\"}'],
        ['API_KEY', "o'brien", 'Tenant', '', '', '{"deep": {"deeper": {"deepest": [null, true, false]}}}'],
      ];
      for (const [actorType, actorId, targetType, targetId, requestId, detail] of rows) {
        await client.query(
          `insert into audit_events (id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, request_id, detail)
           values (gen_random_uuid(), $1, $2, $3, 'test.encoding', $4, $5, 'SUCCESS', $6, $7)`,
          [uuid, actorType, actorId, targetType, targetId, requestId, detail],
        );
      }
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    const schema = tier === 'enterprise' ? tenantSchemaName(uuid) : 'public';
    const { rows } = await adminQuery<{ n: number }>(
      gw.database.adminUrl,
      `select count(*)::int as n from ${schema}.audit_events where tenant_id = $1 and action = 'test.encoding'`,
      [uuid],
    );
    expect(rows).toEqual([{ n: 3 }]);
    expect(await verify(tenant.ownerToken)).toMatchObject({ intact: true, brokenAt: null });
  });
});

describe('append-only', () => {
  test('the app role may insert and select only, owns nothing, and cannot pick chain values', async () => {
    const acme = await tenantWithEvents();
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("select set_config('app.tenant_id', $1, true)", [acme.uuid]);
      // Whatever the writer claims for seq, prev_hash, hash and created_at, the trigger decides.
      const { rows } = await client.query(
        `insert into audit_events (id, tenant_id, actor_type, actor_id, action, outcome, detail, seq, prev_hash, hash, created_at)
         values (gen_random_uuid(), $1, 'USER', 'x', 'forged', 'SUCCESS', '{}', 1, '\\x00', '\\x00', '2000-01-01')
         returning seq::text, created_at > now() - interval '1 minute' as fresh`,
        [acme.uuid],
      );
      expect(rows).toEqual([{ seq: '6', fresh: true }]);
      await client.query('COMMIT');
      for (const statement of [
        'update audit_events set action = $2 where tenant_id = $1',
        'delete from audit_events where tenant_id = $1 and action <> $2',
      ]) {
        await client.query('BEGIN');
        await client.query("select set_config('app.tenant_id', $1, true)", [acme.uuid]);
        await expect(client.query(statement, [acme.uuid, 'x'])).rejects.toThrow(/permission denied/);
        await client.query('ROLLBACK');
      }
      await expect(client.query('truncate audit_events')).rejects.toThrow(/permission denied/);
      await expect(client.query('select audit_drop_through($1, 5)', [acme.uuid])).rejects.toThrow(/not the current tenant/);
    } finally {
      await client.end();
    }
    expect((await verify(acme.ownerToken)).intact).toBe(true);
  });

  test('a temporary table named audit_events cannot stand in for the real one in the chain trigger', async () => {
    const acme = await tenantWithEvents();
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("select set_config('app.tenant_id', $1, true)", [acme.uuid]);
      await client.query('create temp table audit_events (tenant_id uuid, seq bigint, hash bytea)');
      await client.query("insert into pg_temp.audit_events values ($1, 1000, sha256('forged'))", [acme.uuid]);
      const { rows } = await client.query(
        `insert into public.audit_events (id, tenant_id, actor_type, actor_id, action, outcome, detail)
         values (gen_random_uuid(), $1, 'USER', 'x', 'probe', 'SUCCESS', '{}') returning seq::text`,
        [acme.uuid],
      );
      expect(rows).toEqual([{ seq: '6' }]);
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    expect((await verify(acme.ownerToken)).intact).toBe(true);
  });

  test.each([
    ['UPDATE', 'update audit_events set detail = \'{"x": 1}\''],
    ['DELETE', 'delete from audit_events'],
    ['TRUNCATE', 'truncate audit_events'],
  ])('even the owner role is refused %s by the triggers', async (_name, statement) => {
    const acme = await tenantWithEvents();
    await expect(asOwner(gw.database.adminUrl, acme.uuid, [statement])).rejects.toThrow(/append-only/);
    expect(await events(acme.uuid)).toHaveLength(5);
  });
});

describe('tampering by a database administrator (triggers off) is found, with the first broken link', () => {
  test('an edited event: HASH_MISMATCH at its seq', async () => {
    const acme = await tenantWithEvents();
    await asOwner(gw.database.adminUrl, acme.uuid, ["update audit_events set actor_id = 'someone-else' where seq = 3"], { replica: true });
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '3', reason: 'HASH_MISMATCH' });
  });

  test('an edit with its own hash recomputed: the next link breaks', async () => {
    const acme = await tenantWithEvents();
    await asOwner(
      gw.database.adminUrl,
      acme.uuid,
      [
        `update audit_events set detail = '{"name": "innocent"}',
           hash = audit_event_hash(tenant_id, seq, id, created_at, actor_type, actor_id, action, target_type, target_id, outcome, request_id, '{"name": "innocent"}', prev_hash)
         where seq = 2`,
      ],
      { replica: true },
    );
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '3', reason: 'BROKEN_LINK' });
  });

  test('a deleted event: SEQUENCE_GAP where it was', async () => {
    const acme = await tenantWithEvents();
    await asOwner(gw.database.adminUrl, acme.uuid, ['delete from audit_events where seq = 3'], { replica: true });
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '4', reason: 'SEQUENCE_GAP' });
  });

  test('deleted oldest events with no checkpoint: MISSING_START', async () => {
    const acme = await tenantWithEvents();
    await asOwner(gw.database.adminUrl, acme.uuid, ['delete from audit_events where seq <= 2'], { replica: true });
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '3', reason: 'MISSING_START' });
  });

  test('two events reordered (seq swapped): found at the first of them', async () => {
    const acme = await tenantWithEvents();
    await asOwner(
      gw.database.adminUrl,
      acme.uuid,
      [
        'update audit_events set seq = seq + 1000000 where seq in (3, 4)',
        'update audit_events set seq = case seq when 1000003 then 4 else 3 end where seq > 1000000',
      ],
      { replica: true },
    );
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '3', reason: 'BROKEN_LINK' });
  });

  test('a forged event appended with a wrong hash: HASH_MISMATCH', async () => {
    const acme = await tenantWithEvents();
    const [head] = await events(acme.uuid).then((rows) => rows.slice(-1));
    await asOwner(
      gw.database.adminUrl,
      acme.uuid,
      [
        `insert into audit_events (id, tenant_id, actor_type, actor_id, action, outcome, detail, seq, prev_hash, hash)
         select gen_random_uuid(), tenant_id, 'USER', 'ghost', 'agent.delete', 'SUCCESS', '{}', 6, hash, sha256('forged')
         from audit_events where id = '${head?.id}'`,
      ],
      { replica: true },
    );
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '6', reason: 'HASH_MISMATCH' });
  });

  test('a forged event swapped in for a real one, with a correct own hash: the next link breaks', async () => {
    const acme = await tenantWithEvents();
    await asOwner(
      gw.database.adminUrl,
      acme.uuid,
      [
        'create temp table victim as select * from audit_events where seq = 3',
        'delete from audit_events where seq = 3',
        `insert into audit_events (id, tenant_id, actor_type, actor_id, action, outcome, detail, created_at, seq, prev_hash, hash)
         select gen_random_uuid(), tenant_id, 'USER', 'ghost', 'agent.create', 'SUCCESS', '{}', created_at, 3, prev_hash,
                audit_event_hash(tenant_id, 3, gen_random_uuid(), created_at, 'USER', 'ghost', 'agent.create', null, null, 'SUCCESS', null, '{}', prev_hash)
         from victim`,
      ],
      { replica: true },
    );
    // Its own hash is not even consistent (a fresh id went into it), and the link after it breaks anyway.
    const brokenAt = (await verify(acme.ownerToken)).brokenAt;
    expect(brokenAt?.seq).toBe('3');
  });

  test('an event moved in from another tenant: the link breaks', async () => {
    const acme = await tenantWithEvents();
    const other = await tenantWithEvents();
    await adminQuery(
      gw.database.adminUrl,
      `begin; set local session_replication_role = replica;
       update audit_events set tenant_id = '${acme.uuid}', seq = 6 where tenant_id = '${other.uuid}' and seq = 5; commit;`,
    );
    expect((await verify(acme.ownerToken)).brokenAt).toMatchObject({ seq: '6', reason: 'BROKEN_LINK' });
  });
});

describe('no change without its event', () => {
  test('a failed audit write fails the change', async () => {
    const acme = await gw.seed.tenant();
    // The database refuses this one event (a stand-in for any audit write failure).
    await adminQuery(
      gw.database.adminUrl,
      `create function refuse_probe() returns trigger language plpgsql as $$ begin
         if NEW.detail->>'name' = 'doomed' then raise exception 'audit write failed'; end if; return NEW; end $$;
       create trigger refuse_probe before insert on audit_events for each row execute function refuse_probe();`,
    );
    try {
      const response = await gw.execute(CreateAgent, { input: { name: 'doomed', image: 'fleetgate/agent:1' } }, { token: acme.ownerToken });
      expect(errorCodes(response)).toEqual(['INTERNAL_SERVER_ERROR']);
      const { rows } = await adminQuery(gw.database.adminUrl, "select count(*)::int as n from agents where name = 'doomed'");
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await adminQuery(gw.database.adminUrl, 'drop trigger refuse_probe on audit_events; drop function refuse_probe();');
    }
  });

  /**
   * The gateway process is SIGKILLed while its backend is stalled (a probe trigger sleeps) in one of
   * the change's two messages. Postgres finishes the message it is running even with its client gone:
   * a crash in the change's statement leaves a transaction with no COMMIT coming (none), a crash in
   * the event's INSERT finishes it and the COMMIT sent with it (both). Never one without the other.
   */
  test.each([
    { stallIn: 'agents', outcome: 'none', kept: 0 },
    { stallIn: 'audit_events', outcome: 'both', kept: 1 },
  ])(
    'a crash (the gateway process killed) while the $stallIn insert runs keeps $outcome of the change and its event; the chain goes on',
    async ({ stallIn, kept }) => {
      const acme = await gw.seed.tenant();
      const name = `crash-in-${stallIn}`;
      await adminQuery(
        gw.database.adminUrl,
        `create function stall_probe() returns trigger language plpgsql as $$ begin
         if strpos(to_jsonb(NEW)::text, '${name}') > 0 then perform pg_sleep(3); end if; return NEW; end $$;
       create trigger stall_probe before insert on ${stallIn} for each row execute function stall_probe();`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crash-gateway.ts'], {
        env: { ...process.env, APP_URL: gw.appUrl, KEYRING_DIR: gw.keyringDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const port = await new Promise<string>((resolve, reject) => {
          child.stdout?.on('data', (chunk) => {
            const match = /port (\d+)/.exec(String(chunk));
            if (match?.[1]) resolve(match[1]);
          });
          child.on('exit', (code) => reject(new Error(`crash gateway exited with ${code}`)));
        });
        const request = fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.ownerToken}` },
          body: JSON.stringify({ query: print(CreateAgent), variables: { input: { name, image: 'fleetgate/agent:1' } } }),
        }).catch(() => 'connection lost');
        await waitFor(async () => (await stalled(gw.database.name, stallIn)) === 1);
        child.kill('SIGKILL');
        expect(await request).toBe('connection lost');
        await waitFor(async () => (await stalled(gw.database.name, stallIn)) === 0);
      } finally {
        child.kill('SIGKILL');
        await adminQuery(gw.database.adminUrl, `drop trigger stall_probe on ${stallIn}; drop function stall_probe();`);
      }
      // The dead client's backend may still be rolling back or committing: wait for it to be gone.
      await waitFor(async () => (await backends(gw.database.name, name)) === 0);
      const counts = `select (select count(*)::int from agents where name = '${name}') as agents,
                           (select count(*)::int from audit_events where detail->>'name' = '${name}' and outcome = 'SUCCESS') as events`;
      expect((await adminQuery(gw.database.adminUrl, counts)).rows).toEqual([{ agents: kept, events: kept }]);
      expect((await verify(acme.ownerToken)).intact).toBe(true);
      // The tenant's next change commits with its event on an intact chain.
      expectNoErrors(
        await gw.execute(CreateAgent, { input: { name: `after-${name}`, image: 'fleetgate/agent:1' } }, { token: acme.ownerToken }),
      );
      expect((await verify(acme.ownerToken)).intact).toBe(true);
    },
    30_000,
  );
});

/**
 * Backends of this database asleep in the probe trigger on `table`: running, not idle (an idle
 * backend's pg_stat_activity row still shows its last query).
 */
async function stalled(database: string, table: string): Promise<number> {
  const { rows } = await adminQuery<{ n: number }>(
    gw.database.adminUrl,
    `select count(*)::int as n from pg_stat_activity
      where datname = $1 and state = 'active' and wait_event = 'PgSleep' and query ~* ('insert into "?' || $2)`,
    [database, table],
  );
  return rows[0]?.n ?? 0;
}

/** Backends of this database whose session has sent a statement naming `marker`, still connected. */
async function backends(database: string, marker: string): Promise<number> {
  const { rows } = await adminQuery<{ n: number }>(
    gw.database.adminUrl,
    "select count(*)::int as n from pg_stat_activity where datname = $1 and state <> 'idle' and strpos(query, $2) > 0",
    [database, marker],
  );
  return rows[0]?.n ?? 0;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
