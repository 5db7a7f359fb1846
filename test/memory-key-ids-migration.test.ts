import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { appUrlFor } from '../src/db/database-urls.ts';
import { migrate } from '../src/db/migrate.ts';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { startGateway } from '../src/gateway.ts';
import { LocalKeyProvider } from '../src/keys/index.ts';
import { mintAgentToken } from '../src/modules/memory/agent-tokens.ts';
import { aadOf, sealValue } from '../src/modules/memory/memory-crypto.ts';
import { createLogger } from '../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, urlForDatabase } from './support/database.ts';

// migrations/0019_memory_key_ids.sql over a deployment's existing memory: every row, in the shared
// tables and in an enterprise tenant's schema, gets the id of the key it was sealed under, the
// mirror gets the same ids, and the gateway reads every entry as before.

const log = createLogger({ level: 'silent' });
const name = `fleetgate_keyids_${randomUUID().slice(0, 8)}`;
const url = urlForDatabase(ADMIN_URL, name);
let keyringDir = '';
afterAll(async () => {
  await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  if (keyringDir) await rm(keyringDir, { recursive: true, force: true });
});

test('memory written before 0019 keeps opening: each row gets its agent’s key id, in public and in a tenant schema', async () => {
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  await migrate(url, log, { until: '0018_task_history_batches' });
  keyringDir = await mkdtemp(join(tmpdir(), 'fleetgate-keyids-'));
  const provider = await LocalKeyProvider.open(keyringDir, log);
  const sql = (text: string, params: unknown[] = []) => adminQuery(url, text, params).then((r) => r.rows);

  // A standard tenant's agent in public, an enterprise tenant's agent in its own schema, and the
  // rows of an agent deleted earlier (its key gone, awaiting the purge).
  const standard = { tenantId: randomUUID(), agentId: randomUUID(), schema: 'public' };
  const enterpriseId = randomUUID();
  const enterprise = { tenantId: enterpriseId, agentId: randomUUID(), schema: tenantSchemaName(enterpriseId) };
  await sql("INSERT INTO tenants (id, name) VALUES ($1, 'standard')", [standard.tenantId]);
  await sql("INSERT INTO tenants (id, name, plan) VALUES ($1, 'enterprise', 'ENTERPRISE')", [enterprise.tenantId]);
  await sql(`SET ROLE fleetgate_owner; SELECT sync_tenant_schema('${enterprise.tenantId}')`);
  const values = new Map<string, string>();
  for (const agent of [standard, enterprise]) {
    await sql(
      `INSERT INTO ${agent.schema}.agents (id, tenant_id, name, image, created_by) VALUES ($1, $2, 'old', 'fleetgate/agent:1', 'u')`,
      [agent.agentId, agent.tenantId],
    );
    const key = await provider.generateDataKey();
    await sql(`INSERT INTO ${agent.schema}.agent_memory_keys (agent_id, tenant_id, provider, wrapped_key) VALUES ($1, $2, 'local', $3)`, [
      agent.agentId,
      agent.tenantId,
      key.wrapped,
    ]);
    for (const entry of ['plan', 'notes']) {
      const value = JSON.stringify({ entry, of: agent.schema });
      values.set(`${agent.agentId}/${entry}`, value);
      await sql(
        `INSERT INTO ${agent.schema}.agent_memory (id, tenant_id, agent_id, key, ciphertext, size_bytes) VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          randomUUID(),
          agent.tenantId,
          agent.agentId,
          entry,
          sealValue(key.plaintext, aadOf(agent.tenantId, agent.agentId, entry), value),
          value.length,
        ],
      );
    }
    key.plaintext.fill(0);
  }
  const deletedAgent = randomUUID();
  await sql("INSERT INTO agent_memory (id, tenant_id, agent_id, key, ciphertext, size_bytes) VALUES ($1, $2, $3, 'gone', $4, 1)", [
    randomUUID(),
    standard.tenantId,
    deletedAgent,
    Buffer.alloc(40),
  ]);

  expect(await migrate(url, log)).toContain('0019_memory_key_ids');

  for (const agent of [standard, enterprise]) {
    const rows = await sql(
      `SELECT m.key, m.key_id = k.key_id AS named, e.key_id = k.key_id AS mirrored
         FROM ${agent.schema}.agent_memory m JOIN ${agent.schema}.agent_memory_keys k USING (agent_id)
         JOIN memory_key_escrow e USING (agent_id) WHERE m.agent_id = $1 ORDER BY m.key`,
      [agent.agentId],
    );
    expect(rows).toEqual([
      { key: 'notes', named: true, mirrored: true },
      { key: 'plan', named: true, mirrored: true },
    ]);
  }
  // The deleted agent's row names a key no agent has.
  expect(
    await sql(
      `SELECT m.key_id IS NOT NULL AS named, EXISTS (SELECT FROM memory_key_escrow e WHERE e.key_id = m.key_id) AS opens
         FROM agent_memory m WHERE agent_id = $1`,
      [deletedAgent],
    ),
  ).toEqual([{ named: true, opens: false }]);

  // Through the gateway, with each agent's own token: every entry reads as it was written.
  const gateway = await startGateway({
    appUrl: appUrlFor(url),
    keyring: await openKeyring(keyringDir),
    keyProvider: provider,
    log,
    userTokenTtl: '1h',
    canaryIntervalMs: 0,
    testing: { withoutCanary: true },
    memoryMaintenanceIntervalMs: 0,
    policy: {
      mode: 'development',
      tenantRateLimitPerMinute: 100_000,
      apiKeyRateLimitPerMinute: 100_000,
      signUp: 'open',
      signUpPerIpPerHour: 100_000,
    },
  });
  try {
    for (const agent of [standard, enterprise]) {
      const token = (
        await mintAgentToken({ orm: gateway.orm, tokens: gateway.tokens }, { id: agent.agentId, tenantId: agent.tenantId })
      )?.reveal();
      for (const entry of ['plan', 'notes']) {
        const response = await gateway.yoga.fetch('http://gateway.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: 'query ($k: String!) { memoryEntry(key: $k) { value } }', variables: { k: entry } }),
        });
        expect(await response.json()).toEqual({ data: { memoryEntry: { value: values.get(`${agent.agentId}/${entry}`) } } });
      }
    }
  } finally {
    await gateway.close();
  }
});
