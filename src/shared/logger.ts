import pino, { type DestinationStream, type Logger } from 'pino';
import { knownSecretValues } from './secret.ts';

export type { Logger };

/**
 * Keys whose values never reach a log line, at any of the listed depths. Path redaction is the
 * first layer; the stream-level scrub of known secret values (see Secret) catches what paths
 * miss, such as a token pasted into a message or an error's stack.
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'apiKey',
  'secret',
  'password',
  'privateKey',
  'value',
  'credential',
  'key',
];
const redactPaths = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_KEYS.map((key) => `*.*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
];

/** Catches bearer credentials and our own token formats in free text, whether registered or not. */
const TOKEN_PATTERNS = [
  /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, // a JWT
  /\bfg[klr]_[\w-]{20,}/g, // the gateway's own bearer secrets: API keys, sign-in links, refresh tokens (src/auth/tenant-secrets.ts)
  /(bearer\s+)[^\s"\\]+/gi,
];

export function scrubSecrets(line: string): string {
  let out = knownSecretValues.scrub(line);
  for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, (_m, prefix) => `${typeof prefix === 'string' ? prefix : ''}[redacted]`);
  return out;
}

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? pino.destination(1),
  );
}
