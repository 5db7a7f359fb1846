/**
 * Child process: PostGraphile 5 (Amber preset, grafserv on node:http) in library mode, a peer of the
 * gateway in `npm run bench`. It serves the bench's tables over the same database as the app role
 * `fleetgate_app` (not BYPASSRLS, so the same FORCE'd RLS policies decide), and maps the verified JWT
 * to `pgSettings` ({ 'app.tenant_id': tid }), which PostGraphile sets transaction-locally around the
 * request's query. The JWT check is the one the other peers make (jose, EdDSA, issuer, audience,
 * required claims). Only PostGraphile's public API is used; none of its code is copied here.
 *
 * `--audit` (the `postgraphile-audit` peer of the write): the token's subject also goes to
 * PEER_AUDIT_ACTOR, which switches on the audit trigger `installPeerAudit` put on `agents`.
 */
import { jwtVerify } from 'jose';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { openKeyring } from '../src/auth/keyring.ts';
import { childConfig, failChild, serveChild } from './child.ts';
import { PEER_AUDIT_ACTOR } from './mutation.ts';

async function main() {
  const config = childConfig();
  const keyring = await openKeyring(config.keyringDir);
  const pool = new pg.Pool({ connectionString: config.appUrl, max: config.poolSize });
  const audit = process.argv.includes('--audit');
  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ pool, schemas: ['public'] })],
    grafserv: { graphqlPath: '/graphql', graphiql: false },
    grafast: {
      async context(requestContext) {
        const header = requestContext.node?.req.headers.authorization ?? '';
        const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
        // No valid token: no setting, so the policies match no row (the bench's checker counts that as a failure).
        if (!token) return {};
        try {
          const { payload } = await jwtVerify(token, keyring.signingKey.publicKey, {
            algorithms: ['EdDSA'],
            issuer: 'fleetgate',
            audience: 'fleetgate-api',
            requiredClaims: ['exp', 'iat', 'sub'],
          });
          if (typeof payload.tid !== 'string') return {};
          return { pgSettings: { 'app.tenant_id': payload.tid, ...(audit && payload.sub ? { [PEER_AUDIT_ACTOR]: payload.sub } : {}) } };
        } catch {
          return {};
        }
      },
    },
  };
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  await pgl.getSchema(); // build (introspect) before READY, so no round measures start-up
  await serveChild(serv.createHandler(), async () => {
    await pgl.release();
    await pool.end();
  });
}

main().catch(failChild('postgraphile server'));
