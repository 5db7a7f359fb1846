import { openKeyring } from '../auth/keyring.ts';
import { TokenIssuer } from '../auth/tokens.ts';
import { loadConfig } from '../config.ts';

/** Mints an operator token with the local keyring. Whoever can read the keyring is an operator. */
const config = loadConfig();
const keyring = await openKeyring(config.keyringDir);
const token = await new TokenIssuer(keyring, config.USER_TOKEN_TTL).issue(
  { kind: 'operator', operatorId: 'operator' },
  process.argv[2] ?? '12h',
);
process.stdout.write(`${token.reveal()}\n`);
