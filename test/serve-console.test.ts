import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildConsole } from '../console/build.ts';
import { useConsole } from '../src/console/serve-console.ts';

/** useConsole alone on a bare yoga: the files, their headers and what it refuses; no database. */
const schema = createSchema({ typeDefs: 'type Query { ok: Boolean }' });
const unreachable = () => {
  throw new Error('the session endpoints were not asked for');
};

let dir: string;
let files: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetgate-console-'));
  files = await buildConsole(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('useConsole', () => {
  const yoga = () => createYoga({ schema, plugins: [useConsole({ dir, graphql: unreachable })] });

  test('every path under /console is the page, with the policy headers; hashed assets are cached for a year, gzip when asked', async () => {
    for (const path of ['/console', '/console/', '/console/agents/123', '/console/anything/else']) {
      const response = await yoga().fetch(`http://gateway.test${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).not.toMatch(/unsafe/);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
    const script = files.find((file) => file.endsWith('.js')) ?? '';
    const zipped = await yoga().fetch(`http://gateway.test/console/${script}`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const plain = await yoga().fetch(`http://gateway.test/console/${script}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    // yoga's fetch may already have decoded the body: compare what both decode to.
    const body = Buffer.from(await zipped.arrayBuffer());
    const decoded = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body).toString() : body.toString();
    expect(decoded).toBe(await plain.text());
  });

  test('an unknown asset is 404, a write is 405, and GraphQL and other paths are not its business', async () => {
    expect((await yoga().fetch('http://gateway.test/console/assets/nope.js')).status).toBe(404);
    expect((await yoga().fetch('http://gateway.test/console/agents', { method: 'POST' })).status).toBe(405);
    const graphql = await yoga().fetch('http://gateway.test/graphql?query={ok}');
    expect(await graphql.json()).toEqual({ data: { ok: null } });
    expect(graphql.headers.get('content-security-policy')).toBeNull();
    expect((await yoga().fetch('http://gateway.test/consoles')).status).toBe(404);
  });

  test('a gateway without the built page says how to build it', async () => {
    const empty = createYoga({ schema, plugins: [useConsole({ dir: join(dir, 'missing'), graphql: unreachable })] });
    const response = await empty.fetch('http://gateway.test/console');
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run console:build');
  });
});
