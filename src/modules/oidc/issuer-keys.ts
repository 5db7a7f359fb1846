import { createRemoteJWKSet, decodeJwt, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from '../../shared/logger.ts';

/** Asymmetric algorithms only: an HS256 token "signed" with a public value, or `alg: none`, is refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const FETCH_TIMEOUT_MS = 5_000;

export interface IssuerKeysOptions {
  /** Accept `http://` issuers on loopback hosts (development and tests). Anywhere else an issuer is https. */
  allowLoopbackHttp: boolean;
  /**
   * Least time between two fetches of an issuer's JWKS when a token names a key id not in the cached
   * set (jose's cooldown): a rotated-in key is picked up after at most this long, and a flood of
   * tokens with made-up key ids makes at most one fetch per period. Default 5 s.
   */
  jwksCooldownMs?: number;
  log: Logger;
}

/** The untrusted routing hints of a presented token: which issuer and audiences it claims. */
export interface ClaimedIssuer {
  issuer: string;
  audiences: string[];
}

/**
 * Verifies ID tokens of the issuers tenants trust: discovery (`/.well-known/openid-configuration`,
 * cached an hour, its `issuer` must be the configured one exactly), then the signature against the
 * issuer's JWKS (jose's remote key set: cached, refetched on an unknown key id, so a rotated-in key
 * is picked up without a restart and the old key keeps working while the issuer still publishes
 * it), then `iss`, `aud`, `exp`/`iat` (5 s of clock tolerance) and, when asked, `nonce`.
 *
 * Fetches only GET the discovery document and the key set it names, with a timeout, and nothing
 * they return ever reaches a client: a tenant's issuer URL is not a way to read internal services.
 */
export class IssuerKeys {
  readonly #options: IssuerKeysOptions;
  readonly #discovered = new Map<string, { jwks: ReturnType<typeof createRemoteJWKSet>; at: number }>();

  constructor(options: IssuerKeysOptions) {
    this.#options = options;
  }

  /** Whether an issuer URL is acceptable at all: https, or http on a loopback host when allowed. */
  acceptsIssuer(issuer: string): boolean {
    let url: URL;
    try {
      url = new URL(issuer);
    } catch {
      return false;
    }
    if (url.username || url.password || url.search || url.hash) return false;
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && this.#options.allowLoopbackHttp && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  }

  /** The issuer and audiences a token claims, before anything is verified; undefined when it is no JWT. */
  claimed(token: string): ClaimedIssuer | undefined {
    try {
      const payload = decodeJwt(token);
      const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
      if (typeof payload.iss !== 'string' || audiences.length === 0) return undefined;
      return { issuer: payload.iss, audiences: audiences.slice(0, 10) };
    } catch {
      return undefined;
    }
  }

  /** The verified claims of an ID token for this issuer and client id; undefined for every kind of invalid token. */
  async verify(token: string, issuer: string, clientId: string, nonce?: string | null): Promise<JWTPayload | undefined> {
    if (!this.acceptsIssuer(issuer)) return undefined;
    try {
      const jwks = await this.#keysOf(issuer);
      const { payload, protectedHeader } = await jwtVerify(token, jwks, {
        algorithms: ALGORITHMS,
        issuer,
        audience: clientId,
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: 5,
      });
      // An access token (RFC 9068) is not an ID token, even from the same issuer and for the same client.
      if (protectedHeader.typ?.toLowerCase().endsWith('at+jwt')) return undefined;
      // With several audiences, the token must have been issued to this client (OIDC Core 3.1.3.7).
      if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== clientId) return undefined;
      if (nonce !== undefined && nonce !== null && payload.nonce !== nonce) return undefined;
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof IssuerUnavailable) {
        this.#options.log.info({ issuer, reason: error instanceof IssuerUnavailable ? error.message : error.code }, 'ID token refused');
        return undefined;
      }
      throw error;
    }
  }

  async #keysOf(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const known = this.#discovered.get(issuer);
    if (known && Date.now() - known.at < DISCOVERY_TTL_MS) return known.jwks;
    const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(discoveryUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
      if (!response.ok) throw new IssuerUnavailable(`discovery answered ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      if (error instanceof IssuerUnavailable) throw error;
      throw new IssuerUnavailable('discovery failed');
    }
    if (document.issuer !== issuer || typeof document.jwks_uri !== 'string' || !this.acceptsIssuer(new URL(document.jwks_uri).origin)) {
      throw new IssuerUnavailable('discovery document does not match the issuer');
    }
    const jwks = createRemoteJWKSet(new URL(document.jwks_uri), {
      cooldownDuration: this.#options.jwksCooldownMs ?? 5_000,
      timeoutDuration: FETCH_TIMEOUT_MS,
    });
    this.#discovered.set(issuer, { jwks, at: Date.now() });
    return jwks;
  }
}

class IssuerUnavailable extends Error {}
