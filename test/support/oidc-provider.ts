import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** A person at the identity provider: what its ID tokens say about it. */
export interface Account {
  email: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export const CLIENT_ID = 'fleetgate-web';
export const OTHER_CLIENT_ID = 'another-app';
/** A client whose ID tokens expire after one second. */
export const SHORT_CLIENT_ID = 'short-lived';
const REDIRECT_URI = 'http://127.0.0.1/callback';

/** A fresh RSA signing key as a private JWK with its key id. */
export function signingKey(kid: string) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

/**
 * A real OpenID Provider (panva's oidc-provider, OpenID-certified) in the test process, on a port of
 * its own. Sign-in runs the real authorization code flow: /auth, an interaction that logs in the
 * account the test names (standing in for the login page), /auth again, then /token. `restart`
 * brings the provider back on the same issuer with other signing keys (key rotation).
 */
export async function startOpenIdProvider(port: number, keys = [signingKey('key-1')], publicClients: PublicClient[] = []) {
  const issuer = `http://127.0.0.1:${port}`;
  const accounts = new Map<string, Account>();
  let provider = build(issuer, keys, accounts, publicClients);
  let server = await listen(provider, port);

  async function idToken(accountId: string, options: { clientId?: string; nonce?: string } = {}): Promise<string> {
    const clientId = options.clientId ?? CLIENT_ID;
    const jar = new Map<string, string>();
    const go = async (url: string, init: RequestInit = {}) => {
      const response = await fetch(new URL(url, issuer), {
        ...init,
        redirect: 'manual',
        // No keep-alive: a restarted provider (key rotation) must not meet a pooled socket of the old one.
        headers: {
          ...(init.headers as Record<string, string>),
          connection: 'close',
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const [name, ...value] = (pair ?? '').split('=');
        if (name) jar.set(name.trim(), value.join('='));
      }
      return response;
    };
    const authorize = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      scope: 'openid email profile groups',
      redirect_uri: REDIRECT_URI,
      state: 'state',
      // A fresh nonce per flow, as a real client sends: two sign-ins in one second get two tokens.
      nonce: options.nonce ?? randomUUID(),
    });
    let location = `/auth?${authorize}`;
    nextLogin = accountId;
    for (let hop = 0; hop < 10; hop++) {
      const response = await go(location);
      const next = response.headers.get('location');
      if (!next) throw new Error(`OpenID flow stopped at ${location}: ${response.status} ${await response.text()}`);
      if (next.startsWith(REDIRECT_URI)) {
        const code = new URL(next).searchParams.get('code');
        if (!code) throw new Error(`no code: ${next}`);
        const token = await fetch(`${issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            connection: 'close',
            authorization: `Basic ${Buffer.from(`${clientId}:secret`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }),
        });
        const body = (await token.json()) as { id_token?: string };
        if (!body.id_token) throw new Error(`no id_token: ${JSON.stringify(body)}`);
        return body.id_token;
      }
      location = next;
    }
    throw new Error('OpenID flow did not end');
  }

  return {
    issuer,
    accounts,
    idToken,
    /** The same issuer with other keys: the first signs, the others are still published. */
    async restart(newKeys: ReturnType<typeof signingKey>[]) {
      await close(server);
      provider = build(issuer, newKeys, accounts, publicClients);
      server = await listen(provider, port);
    },
    /** Whom the login page logs in next, for a flow a browser runs (the console's). */
    loginAs(accountId: string) {
      nextLogin = accountId;
    },
    close: () => close(server),
  };
}

/** A client without a secret (a browser app's, PKCE required), e.g. the console's with its callback URL. */
export interface PublicClient {
  clientId: string;
  redirectUri: string;
}

/** Whom the next interaction logs in (the tests run one flow at a time). */
let nextLogin = '';

function build(issuer: string, keys: ReturnType<typeof signingKey>[], accounts: Map<string, Account>, publicClients: PublicClient[]) {
  const client = (client_id: string) => ({
    client_id,
    client_secret: 'secret',
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'] as const,
    grant_types: ['authorization_code'],
  });
  const provider = new Provider(issuer, {
    clients: [
      client(CLIENT_ID),
      client(OTHER_CLIENT_ID),
      client(SHORT_CLIENT_ID),
      ...publicClients.map(({ clientId, redirectUri }) => ({
        client_id: clientId,
        token_endpoint_auth_method: 'none' as const,
        redirect_uris: [redirectUri],
        response_types: ['code'] as const,
        grant_types: ['authorization_code'],
      })),
    ],
    jwks: { keys },
    cookies: { keys: ['test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    pkce: { required: () => false },
    features: { devInteractions: { enabled: false } },
    ttl: {
      IdToken: (_ctx: KoaContextWithOIDC, _token: unknown, c: { clientId: string }) => (c.clientId === SHORT_CLIENT_ID ? 1 : 3600),
      AccessToken: 3600,
      Interaction: 600,
      Grant: 3600,
      Session: 3600,
    },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email_verified: true, ...account }) };
    },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  });
  // The login page: logs in `nextLogin` and grants what was asked, then resumes the flow.
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const grant = new provider.Grant({ accountId: nextLogin, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const result = { login: { accountId: nextLogin }, consent: { grantId: await grant.save() } };
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  });
  return provider;
}

function listen(provider: Provider, port: number): Promise<Server> {
  const server = createServer(provider.callback());
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
