import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import manifest from '../console/src/gql/persisted-documents.json' with { type: 'json' };
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { DeleteAgent } from './support/operations.ts';
import { finalErrorCode, type Subscription, subscribe } from './support/sse.ts';

/**
 * `agentsChanged`, the tenant-wide agents stream behind the console's live list (src/modules/live),
 * run by its published hash as the console app: both walls of a subscription, at subscribe time
 * (the topic is the principal's own tenant, never an argument) and per event (a change reaches only
 * streams of the changed row's own tenant).
 */

const URL = 'http://gateway.test/graphql';
const AGENTS_CHANGED = {
  documentId: Object.keys(manifest).find((hash) =>
    manifest[hash as keyof typeof manifest].startsWith('subscription ConsoleAgentsChanged'),
  ) as string,
};
const uuidOf = (globalId: string) => (decodeGlobalId(globalId) as { id: string }).id;
type Event = { agentId: string | null; status: string | null };
const eventsOf = (stream: Subscription) => stream.results.flatMap((result) => (result.data ? [result.data.agentsChanged as Event] : []));

describe('the tenant-wide agents stream', () => {
  let gw: Gateway;
  const open: Subscription[] = [];
  const sub = async (token: string | undefined) => {
    const stream = await subscribe(
      (url, init) => gw.yoga.fetch(url, { ...init, headers: { ...(init.headers as object), 'x-graphql-client-name': 'console' } }),
      URL,
      AGENTS_CHANGED,
      {},
      token,
    );
    open.push(stream);
    return stream;
  };

  beforeAll(async () => {
    expect(AGENTS_CHANGED.documentId).toMatch(/^sha256:/);
    gw = await startGateway();
  });
  afterAll(async () => {
    await Promise.all(open.map((each) => each.close()));
    await gw?.close();
  });

  test('a tenant hears its own agents created, changed and deleted, and nothing of another tenant’s', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const streamA = await sub(a.ownerToken);
    const streamB = await sub(b.ownerToken);
    // The first event only says the stream is open.
    await streamA.until((event) => event.event === 'next');
    await streamB.until((event) => event.event === 'next');
    expect(eventsOf(streamA)).toEqual([{ agentId: null, status: null, at: expect.any(String) }]);

    const bAgent = await b.agent();
    const aAgent = await a.agent();
    await streamA.until(() => eventsOf(streamA).some((event) => event.agentId === aAgent.id));
    // A status change made in SQL by hand, as the trigger sees any other; then a deletion.
    await adminQuery(gw.database.adminUrl, 'update agents set status = $1 where id = $2', ['FAILED', uuidOf(aAgent.id)]);
    await streamA.until(() => eventsOf(streamA).some((event) => event.agentId === aAgent.id && event.status === 'FAILED'));
    expectNoErrors(await gw.execute(DeleteAgent, { id: aAgent.id }, { token: a.ownerToken }));
    await streamA.until(() => eventsOf(streamA).some((event) => event.agentId === aAgent.id && event.status === null));
    await adminQuery(gw.database.adminUrl, 'update agents set status = $1 where id = $2', ['FAILED', uuidOf(bAgent.id)]);
    await streamB.until(() => eventsOf(streamB).some((event) => event.agentId === bAgent.id && event.status === 'FAILED'));

    // Per-event wall: B's agent, created and changed, never reached A's stream, nor A's reached B's.
    expect(eventsOf(streamA).filter((event) => event.agentId === bAgent.id)).toEqual([]);
    expect(eventsOf(streamB).filter((event) => event.agentId === aAgent.id)).toEqual([]);
    expect(JSON.stringify(streamA.events)).not.toContain(uuidOf(b.id));
    expect(streamA.ended).toBe(false);
  });

  test('anonymous callers are refused at subscribe time, and a frozen tenant’s stream ends with TENANT_FROZEN', async () => {
    const anonymous = await sub(undefined);
    await anonymous.until((event) => event.event === 'complete' || anonymous.ended);
    expect(eventsOf(anonymous)).toEqual([]);

    const a = await gw.seed.tenant();
    const stream = await sub(a.ownerToken);
    await stream.until((event) => event.event === 'next');
    await gw.operator.freeze(a.id, 'incident');
    await stream.until((event) => event.event === 'complete', 5_000);
    expect(finalErrorCode(stream)).toBe('TENANT_FROZEN');
  });
});
