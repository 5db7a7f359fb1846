import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';
import { type ConsoleOidcOptions, handleOidc, OIDC_PATH } from './console-oidc.ts';
import { type GraphqlFetch, handleSession, SESSION_PATH } from './console-session.ts';

/** Where `npm run console:build` writes the console (committed, so `npm start` needs no build). */
export const CONSOLE_DIST = new URL('../../console/dist/', import.meta.url).pathname;

export interface ConsoleOptions {
  /** The built console: index.html and assets/ (default CONSOLE_DIST). */
  dir?: string;
  /**
   * This gateway's own GraphQL server (its `fetch`): the session endpoints run the console's session
   * operations through it, so they pass every plugin (trusted documents, rate limits, audit) like any client's.
   */
  graphql: GraphqlFetch;
  /** Sign-in through a tenant's identity provider (console-oidc.ts); without it, /console/oidc/* answers 404. */
  oidc?: ConsoleOidcOptions;
}

/**
 * Every response under /console. The page runs only its own script and style files (no inline
 * code, no eval), talks only to this origin, cannot be framed, and sends no Referer (its URL may
 * carry a sign-in link in the fragment until the page drops it).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
  type: string;
  /** Hashed file names never change: cached for a year. index.html is revalidated every time. */
  immutable: boolean;
}

/**
 * The console at `/console`: its files (read once, at start), its session endpoints
 * (console-session.ts), and index.html for every other path under it (the page routes itself).
 * Answered before yoga parses anything, so none of this reaches the GraphQL pipeline.
 */
export function useConsole(options: ConsoleOptions): Plugin {
  const assets = loadAssets(options.dir ?? CONSOLE_DIST);
  return {
    // Synchronous for every other path: no promise per GraphQL request.
    onRequest({ request, url, endResponse, serverContext }) {
      if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return;
      const answer = (response: Response) => {
        for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
        endResponse(response);
      };
      if (url.pathname.startsWith(`${OIDC_PATH}/`)) {
        if (!options.oidc) return answer(new Response('Not found', { status: 404 }));
        return handleOidc(request, url, serverContext ?? {}, options.graphql, options.oidc).then(answer);
      }
      if (url.pathname !== SESSION_PATH && !url.pathname.startsWith(`${SESSION_PATH}/`)) return answer(serveAsset(assets, request, url));
      return handleSession(request, url, serverContext ?? {}, options.graphql).then(answer);
    },
  };
}

function serveAsset(assets: Map<string, Asset>, request: Request, url: URL): Response {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('Method not allowed', { status: 405 });
  const name = url.pathname.startsWith('/console/assets/') ? url.pathname.slice('/console/'.length) : 'index.html';
  const asset = assets.get(name);
  if (!asset) {
    const missing = name === 'index.html' ? 'The console is not built: run `npm run console:build`.' : 'Not found';
    return new Response(missing, { status: name === 'index.html' ? 503 : 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
  const headers = new Headers({
    'content-type': asset.type,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    vary: 'accept-encoding',
  });
  if (gzip) headers.set('content-encoding', 'gzip');
  return new Response(request.method === 'HEAD' ? null : gzip ? asset.gzip : asset.body, { headers });
}

/** index.html and assets/* of the built console, with their gzip forms; empty when it was never built. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html')) || !existsSync(join(dir, 'assets'))) return assets;
  const names = ['index.html', ...readdirSync(join(dir, 'assets')).map((file) => `assets/${file}`)];
  for (const name of names) {
    const body = new Uint8Array(readFileSync(join(dir, name)));
    const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
    assets.set(name, { body, gzip: new Uint8Array(gzipSync(body, { level: 9 })), type, immutable: name !== 'index.html' });
  }
  return assets;
}
