import renderGraphiQLPackage from '@graphql-yoga/render-graphiql/package.json' with { type: 'json' };
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/**
 * GraphiQL served entirely by the gateway. Yoga's own page loads its script, styles and editor
 * workers from a CDN, so offline and in air-gapped installs it shows "Loading…" forever; here the
 * same assets come from `@graphql-yoga/render-graphiql` (pinned with graphql-yoga) and are served
 * under ASSET_PREFIX, same origin, cached for good (the path carries the package's version).
 */
export const ASSET_PREFIX = `/graphiql/${renderGraphiQLPackage.version}/`;

/** The editor's first content: how to set the token, and what each principal sees. */
const DEFAULT_QUERY = `# Welcome to Fleetgate's GraphiQL.
#
# Sign in: put your access token in the Headers tab below, then reload the schema
# (the ↻ button of the Docs panel) to see the documentation of what your role may use:
#
#   { "Authorization": "Bearer <accessToken>" }
#
# No token yet? signUp (when sign-up is open), redeemSignInLink(token: …) with a
# sign-in link, or signIn with OpenID Connect each open a session; see docs/frontend.md.
# Operators use the operator token (npm run operator-token) and see the whole schema.
# In production mode users run only published documents (see docs/integrators.md).

query WhoAmI {
  me { name email role }
  tenant { name plan }
}
`;

export const GRAPHIQL_OPTIONS: GraphiQLOptions = { title: 'Fleetgate · GraphiQL', defaultQuery: DEFAULT_QUERY };

interface Asset {
  contentType: string;
  body: (assets: Assets) => string | Uint8Array<ArrayBuffer>;
}
type Assets = typeof import('@graphql-yoga/render-graphiql/graphiql');

const ASSETS: Record<string, Asset> = {
  'graphiql.js': { contentType: 'text/javascript; charset=utf-8', body: (assets) => assets.js },
  'graphiql.css': { contentType: 'text/css; charset=utf-8', body: (assets) => assets.css },
  'editor.worker.js': { contentType: 'text/javascript; charset=utf-8', body: (assets) => assets.editorWorkerService },
  'json.worker.js': { contentType: 'text/javascript; charset=utf-8', body: (assets) => assets.jsonWorker },
  'graphql.worker.js': { contentType: 'text/javascript; charset=utf-8', body: (assets) => assets.graphqlWorker },
  'favicon.ico': {
    contentType: 'image/x-icon',
    body: (assets) => new Uint8Array(Buffer.from(assets.favicon.slice(assets.favicon.indexOf(',') + 1), 'base64')),
  },
};

/** About 9 MB of strings: loaded on the first GraphiQL request, not at every gateway start. */
let loaded: Promise<Assets> | undefined;
const assets = () => {
  loaded ??= import('@graphql-yoga/render-graphiql/graphiql');
  return loaded;
};

/**
 * Serves the GraphiQL assets under ASSET_PREFIX (GET only, no credential needed: they are the
 * public GraphiQL bundle and hold nothing of the gateway's).
 */
export function useGraphiQLAssets(): Plugin {
  return {
    // Synchronous for every other path: no promise per GraphQL request.
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(ASSET_PREFIX)) return;
      const asset = ASSETS[url.pathname.slice(ASSET_PREFIX.length)];
      if (!asset || (request.method !== 'GET' && request.method !== 'HEAD')) {
        endResponse(new fetchAPI.Response('Not Found', { status: 404 }));
        return;
      }
      // The bundle loads on the first asset request only (about 9 MB of strings).
      return assets().then((loaded) => {
        const body = asset.body(loaded);
        endResponse(
          new fetchAPI.Response(request.method === 'HEAD' ? null : body, {
            headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable' },
          }),
        );
      });
    },
  };
}

/**
 * The GraphiQL page (yoga's `renderGraphiQL`): yoga's GraphiQL (the same React app) with every
 * script, style and worker from ASSET_PREFIX. The options are embedded as JSON with `<` escaped,
 * so no option value can close the script element.
 */
export function renderBundledGraphiQL(options: GraphiQLOptions): string {
  const title = escapeHtml(options.title ?? 'GraphiQL');
  const json = JSON.stringify(options).replaceAll('<', '\\u003c');
  const workers = JSON.stringify({
    editorWorkerService: `${ASSET_PREFIX}editor.worker.js`,
    json: `${ASSET_PREFIX}json.worker.js`,
    graphql: `${ASSET_PREFIX}graphql.worker.js`,
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="${ASSET_PREFIX}favicon.ico">
<link rel="stylesheet" href="${ASSET_PREFIX}graphiql.css">
</head>
<body id="body" class="no-focus-outline">
<noscript>You need to enable JavaScript to run GraphiQL.</noscript>
<div id="root">Loading ${title}…</div>
<script>
const workers = ${workers};
self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
</script>
<script src="${ASSET_PREFIX}graphiql.js"></script>
<script>YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), ${json});</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
