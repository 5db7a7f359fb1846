import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { forkForPrincipal } from '../src/db/request-scope.ts';
import { recordAudit } from '../src/modules/audit/audit.service.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { VerifyAuditLog } from './support/operations.ts';

/**
 * Audit events are staged in their transaction and written as its last statement, with its COMMIT
 * (src/modules/audit/audit-writer.ts, src/db/commit-prelude.ts): with the change or not at all, and
 * holding the tenant's chain lock only for that INSERT and the COMMIT.
 */
describe('audit events written at commit', () => {
  let gw: Gateway;
  let owner: Principal;
  let ownerToken: string;
  let tenantId: string;

  beforeAll(async () => {
    gw = await startGateway();
    const acme = await gw.seed.tenant();
    tenantId = decodeGlobalId(acme.id).id;
    ownerToken = acme.ownerToken;
    const { rows } = await adminQuery(gw.database.adminUrl, 'select id from users where tenant_id = $1', [tenantId]);
    owner = { kind: 'user', tenantId, userId: rows[0]?.id, role: 'OWNER' };
  });
  afterAll(() => gw?.close());

  const scopeOf = (em: EntityManager) => ({ principal: owner, em, requestId: 'audit-writer-test', log: gw.log });
  const eventsOf = async (action: string) =>
    (
      await adminQuery<{ seq: string; target: string }>(
        gw.database.adminUrl,
        'select seq::text, target_id as target from audit_events where action = $1 order by seq',
        [action],
      )
    ).rows;

  test('an event recorded outside a transaction is refused, never silently dropped', () => {
    const em = forkForPrincipal(gw.orm, owner);
    expect(() => recordAudit(scopeOf(em), { action: 'test.outside' })).toThrow(/outside a transaction/);
  });

  test('staged events are not in the table before COMMIT, then are, in the order recorded, with consecutive seqs', async () => {
    const seenInside = await forkForPrincipal(gw.orm, owner).transactional(async (em) => {
      for (const target of ['first', 'second', 'third']) recordAudit(scopeOf(em), { action: 'test.order', targetId: target });
      await em.flush();
      const [row] = await em.execute<{ n: number }[]>("select count(*)::int as n from audit_events where action = 'test.order'");
      return row?.n;
    });
    expect(seenInside).toBe(0);
    const events = await eventsOf('test.order');
    expect(events.map((event) => event.target)).toEqual(['first', 'second', 'third']);
    const seqs = events.map((event) => Number(event.seq));
    expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2]);
  });

  test('a rolled-back transaction writes none of its events', async () => {
    const attempt = forkForPrincipal(gw.orm, owner).transactional(async (em) => {
      recordAudit(scopeOf(em), { action: 'test.rollback' });
      throw new Error('the change failed');
    });
    await expect(attempt).rejects.toThrow('the change failed');
    expect(await eventsOf('test.rollback')).toEqual([]);
  });

  test('a transaction with a staged event does not hold the chain lock: another writer of the tenant commits meanwhile', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let staged: () => void = () => undefined;
    const isStaged = new Promise<void>((resolve) => {
      staged = resolve;
    });
    const slow = forkForPrincipal(gw.orm, owner).transactional(async (em) => {
      recordAudit(scopeOf(em), { action: 'test.lock', targetId: 'slow' });
      await em.flush();
      staged();
      await held; // the rest of a long request
    });
    await isStaged;
    // Would wait for `slow` to commit if its event had been inserted (and the tenant's chain locked) at its flush.
    const quick = forkForPrincipal(gw.orm, owner).transactional(async (em) => {
      recordAudit(scopeOf(em), { action: 'test.lock', targetId: 'quick' });
    });
    const outcome = await Promise.race([quick.then(() => 'committed'), new Promise((resolve) => setTimeout(resolve, 5_000, 'blocked'))]);
    release();
    await slow;
    expect(outcome).toBe('committed');
    expect((await eventsOf('test.lock')).map((event) => event.target)).toEqual(['quick', 'slow']);
    const { verifyAuditLog } = expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: ownerToken }));
    expect(verifyAuditLog.intact).toBe(true);
  });
});
