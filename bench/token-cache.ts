/**
 * `npm run bench:tokens`: what the verified-token cache (TokenIssuer, src/auth/tokens.ts) saves when
 * a replica sees more live tokens than it remembers. Each request's token is looked up by its hash;
 * a miss verifies the Ed25519 signature in full. The cache drops its oldest entry when full, so
 * under requests spread evenly over N live tokens it answers about size/N of them.
 *
 * Mints BENCH_LIVE_TOKENS tokens (default 30,000), then, in alternating rounds, verifies random ones
 * through an issuer with the cache size that shipped before (10,000) and one with the shipped size,
 * each warmed by one pass over every token. Prints the mean time per verification of each, their
 * ratio from the same rounds, a full verification and a hit alone, and the heap each remembered token
 * takes (with `node --expose-gc`, as the npm script runs it). Pure CPU in this process: no database.
 *
 * Environment (all optional): BENCH_LIVE_TOKENS (30000), BENCH_ROUNDS (6), BENCH_VERIFIES (30000 per round).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openKeyring } from '../src/auth/keyring.ts';
import { TokenIssuer, VERIFIED_CACHE_SIZE } from '../src/auth/tokens.ts';
import { percentile } from './load.ts';
import { positiveSetting } from './settings.ts';

const BEFORE_SIZE = 10_000;
const liveTokens = positiveSetting('BENCH_LIVE_TOKENS', 30_000);
const rounds = positiveSetting('BENCH_ROUNDS', 6);
const verifies = positiveSetting('BENCH_VERIFIES', 30_000);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-token-cache-'));
  try {
    const keyring = await openKeyring(dir);
    const minter = new TokenIssuer(keyring, '1h', 1);
    const tokens: string[] = [];
    for (let i = 0; i < liveTokens; i++) {
      const subject = { kind: 'user', tenantId: crypto.randomUUID(), userId: crypto.randomUUID(), role: 'OWNER' } as const;
      tokens.push((await minter.issue({ ...subject, tokenVersion: 1, sessionId: crypto.randomUUID() })).reveal());
    }

    const heapBefore = heapAfterGc();
    const sides = [
      {
        name: `cache of ${BEFORE_SIZE.toLocaleString('en-US')} (before)`,
        issuer: new TokenIssuer(keyring, '1h', BEFORE_SIZE),
        us: [] as number[],
      },
      {
        name: `cache of ${VERIFIED_CACHE_SIZE.toLocaleString('en-US')} (shipped)`,
        issuer: new TokenIssuer(keyring, '1h'),
        us: [] as number[],
      },
    ];
    for (const side of sides) for (const token of tokens) await side.issuer.verify(token);
    const heapAfter = heapAfterGc();

    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) side.us.push(await meanVerifyUs(side.issuer, tokens, verifies));
    }

    const full = await meanVerifyUs(new TokenIssuer(keyring, '1h', 1), tokens, 2_000, true);
    const hit = await meanVerifyUs(sides[1]?.issuer as TokenIssuer, tokens.slice(0, 1_000), verifies);
    const remembered = sides.reduce((sum, side) => sum + side.issuer.cachedTokens, 0);
    console.log(
      `Verified-token cache, ${liveTokens.toLocaleString('en-US')} live tokens, requests spread evenly, ${rounds} alternating rounds of ${verifies.toLocaleString('en-US')} verifications`,
    );
    for (const side of sides) {
      console.log(
        `  ${side.name.padEnd(30)} ${percentile(side.us, 50).toFixed(1).padStart(6)} µs per verification (median of rounds), ${side.issuer.cachedTokens.toLocaleString('en-US')} remembered`,
      );
    }
    const ratios = sides[0]?.us.map((before, i) => before / (sides[1]?.us[i] ?? Number.NaN)) ?? [];
    console.log(
      `  before/shipped, same rounds: ${percentile(ratios, 50).toFixed(1)}× (rounds ${Math.min(...ratios).toFixed(1)}-${Math.max(...ratios).toFixed(1)})`,
    );
    console.log(`  a full verification ${full.toFixed(1)} µs, a hit ${hit.toFixed(2)} µs`);
    if (heapBefore !== undefined && heapAfter !== undefined)
      console.log(`  heap per remembered token: ${Math.round((heapAfter - heapBefore) / remembered)} bytes`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mean µs of `count` verifications of random tokens (in order when `sequential`: each one a miss for a cache of one). */
async function meanVerifyUs(issuer: TokenIssuer, tokens: readonly string[], count: number, sequential = false): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const token = tokens[sequential ? i % tokens.length : Math.floor(Math.random() * tokens.length)] as string;
    if (!(await issuer.verify(token))) throw new Error('a live token was refused');
  }
  return ((performance.now() - started) * 1000) / count;
}

function heapAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
