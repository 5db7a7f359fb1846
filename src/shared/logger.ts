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
const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);
const CENSOR = '[redacted]';
/** pino's own path redaction: secret keys at the top level and the request headers. */
const redactPaths = [...SECRET_KEYS, 'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers["x-api-key"]'];

/**
 * Secret-named keys one and two levels down (`*.token`, `*.*.token`), in plain objects and arrays:
 * redacted in a copy of what is logged, the caller's object untouched. Not as pino wildcard paths:
 * with those, pino runs its redactor over every child logger's bindings, about 20 µs for each
 * request's `log.child({ requestId, … })` (a tenth of the gap to PostGraphile, bench/run.ts).
 */
function redactNested(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    let next = value;
    if (depth > 0 && SECRET_KEY_SET.has(key)) next = CENSOR;
    else if (depth < 2 && isPlainContainer(value)) next = redactNested(value, depth + 1);
    if (next !== value) {
      copy ??= (Array.isArray(fields) ? [...fields] : { ...fields }) as Record<string, unknown>;
      copy[key] = next;
    }
  }
  return copy ?? fields;
}

function isPlainContainer(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return Array.isArray(value) || prototype === Object.prototype || prototype === null;
}

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
      redact: { paths: redactPaths, censor: CENSOR },
      formatters: { log: (fields) => redactNested(fields) },
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? pino.destination(1),
  );
}
