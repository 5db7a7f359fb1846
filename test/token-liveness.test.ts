import { describe, expect, test } from 'vitest';
import { TokenLiveness } from '../src/auth/token-liveness.ts';

// The pure logic of what a replica may remember of user tokens; the feed and the database are
// exercised with real components in sessions.test.ts and freeze.test.ts (two replicas).
const token = { kind: 'user', tenantId: 't', userId: 'u1', role: 'MEMBER', tokenVersion: 1, sessionId: 's1' } as const;

function memory(options: { feed?: { current: boolean }; changeWindowMs?: number; maxAgeMs?: number } = {}) {
  const feed = options.feed ?? { current: true };
  return { feed, liveness: new TokenLiveness(() => feed.current, options) };
}

describe('TokenLiveness', () => {
  test('vouches only for a token the database found live, by version and session', () => {
    const { liveness } = memory();
    expect(liveness.vouchesFor(token)).toBe(false);
    liveness.remember(token, liveness.generation);
    expect(liveness.vouchesFor(token)).toBe(true);
    expect(liveness.vouchesFor({ ...token, tokenVersion: 2 })).toBe(false);
    expect(liveness.vouchesFor({ ...token, sessionId: 's2' })).toBe(false);
    expect(liveness.vouchesFor({ ...token, userId: 'u2' })).toBe(false);
  });

  test('a change heard of ends what was remembered of that user only', () => {
    const { liveness } = memory();
    const other = { ...token, userId: 'u2' };
    liveness.remember(token, liveness.generation);
    liveness.remember(other, liveness.generation);
    liveness.forget('u1');
    expect(liveness.vouchesFor(token)).toBe(false);
    expect(liveness.vouchesFor(other)).toBe(true);
  });

  test('an answer to a check begun before a change is not remembered (the late answer cannot revive a token)', () => {
    const { liveness } = memory();
    const before = liveness.generation;
    liveness.forget('someone else');
    liveness.remember(token, before);
    expect(liveness.vouchesFor(token)).toBe(false);
  });

  test('nothing is remembered or vouched for while the feed cannot vouch for itself', () => {
    const { feed, liveness } = memory();
    liveness.remember(token, liveness.generation);
    feed.current = false;
    expect(liveness.vouchesFor(token)).toBe(false);
    liveness.remember({ ...token, userId: 'u2' }, liveness.generation);
    feed.current = true;
    expect(liveness.vouchesFor({ ...token, userId: 'u2' })).toBe(false);
    // A feed that was lost and is back starts from nothing.
    liveness.forgetAll();
    expect(liveness.vouchesFor(token)).toBe(false);
  });

  test('a change made here keeps its user out of memory until the feed confirms it, or the window closes', async () => {
    const { liveness } = memory({ changeWindowMs: 30 });
    liveness.changing('u1');
    liveness.remember(token, liveness.generation);
    expect(liveness.vouchesFor(token)).toBe(false);
    liveness.forget('u1'); // the notification of the commit
    liveness.remember(token, liveness.generation);
    expect(liveness.vouchesFor(token)).toBe(true);

    liveness.changing('u1'); // a change that rolled back: no notification comes
    liveness.remember(token, liveness.generation);
    expect(liveness.vouchesFor(token)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 40));
    liveness.remember(token, liveness.generation);
    expect(liveness.vouchesFor(token)).toBe(true);
  });

  test('an answer is trusted for at most maxAgeMs, and the memory is bounded', async () => {
    const { liveness } = memory({ maxAgeMs: 20 });
    liveness.remember(token, liveness.generation);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(liveness.vouchesFor(token)).toBe(false);

    const bounded = new TokenLiveness(() => true, { maxUsers: 2 });
    for (const userId of ['a', 'b', 'c']) bounded.remember({ ...token, userId }, bounded.generation);
    expect([bounded.vouchesFor({ ...token, userId: 'a' }), bounded.vouchesFor({ ...token, userId: 'c' })]).toEqual([false, true]);
  });
});
