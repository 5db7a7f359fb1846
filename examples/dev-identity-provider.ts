/**
 * `npm run dev:oidc -- <email> [groups…]`: a local OpenID provider for trying sign-in with the
 * embedded gateway, no identity provider of your own needed. The same provider the tests run
 * (panva's oidc-provider, OpenID-certified), on http://127.0.0.1:4010 (OIDC_DEV_PORT): it signs the
 * person named by `email` in through the real authorization code flow, prints an ID token for
 * client `fleetgate-web`, and keeps serving its discovery document and keys until Ctrl-C, since
 * the gateway fetches them when the token is presented. docs/identity.md walks through it.
 */
import { CLIENT_ID, startOpenIdProvider } from '../test/support/oidc-provider.ts';

const [email, ...groups] = process.argv.slice(2);
if (!email?.includes('@')) {
  process.stderr.write('usage: npm run dev:oidc -- <email> [group …]\n');
  process.exit(2);
}
const port = Number(process.env.OIDC_DEV_PORT ?? 4010);
const provider = await startOpenIdProvider(port);
const subject = email.split('@')[0] ?? email;
provider.accounts.set(subject, { email, name: subject, groups });
const idToken = await provider.idToken(subject);
process.stdout.write(
  `\nDev OpenID provider: ${provider.issuer}  (client id ${CLIENT_ID})\n` +
    `ID token for ${email} (valid 1 hour, signs in once):\n  ${idToken}\n\nServing its keys until Ctrl-C.\n`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void provider.close().then(() => process.exit(0)));
