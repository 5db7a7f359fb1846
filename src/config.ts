import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_REGION, REGION_NAME } from './db/regions.ts';
import { Secret } from './shared/secret.ts';

const schema = z.object({
  /** Administrative Postgres URL used for migrations (creates roles, owns the schema). Unset: embedded Postgres. */
  DATABASE_URL: z.url().optional(),
  /** URL the gateway serves requests with. Defaults to DATABASE_URL with the `fleetgate_app` role. */
  APP_DATABASE_URL: z.url().optional(),
  /** The region of DATABASE_URL (or of the embedded database): the home region, where tenants go unless they name another. */
  HOME_REGION: z.string().regex(REGION_NAME).default(DEFAULT_REGION),
  /**
   * Further regions, JSON: `{"us-1": {"databaseUrl": "postgres://admin@host/us", "appDatabaseUrl": "postgres://fleetgate_app:…@host/us",
   * "backupDir": "/backups/us"}}`. Each is migrated as its region; a tenant's data lives only in its region's database.
   * appDatabaseUrl defaults to databaseUrl with the app role (and the embedded password, set on that server).
   */
  REGIONS: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      const parsed = z
        .record(
          z.string().regex(REGION_NAME),
          z.object({ databaseUrl: z.url(), appDatabaseUrl: z.url().optional(), backupDir: z.string().min(1).optional() }),
        )
        .safeParse(safeJson(text));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of regions' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** Where the embedded defaults keep their state: `pgdata/` and `keyring/` (kept apart). */
  FLEETGATE_HOME: z.string().default('.fleetgate'),
  /** Where tenant backup archives are written (encrypted; default FLEETGATE_HOME/backups). */
  BACKUP_DIR: z.string().optional(),
  /** Port of the embedded Postgres (the system one usually holds 5432). */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `production`: only operators may send operations outside the trusted-documents manifest. */
  FLEETGATE_MODE: z.enum(['development', 'production']).default('development'),
  RATE_LIMIT_TENANT_PER_MINUTE: z.coerce.number().int().min(1).default(1_200),
  RATE_LIMIT_API_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Largest request body the gateway reads (bytes); larger ones get 413 before they are parsed. */
  MAX_REQUEST_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  /**
   * Per-connection limits of the app role's pool (0: none). A statement past DB_STATEMENT_TIMEOUT_MS, a
   * lock wait past DB_LOCK_TIMEOUT_MS, or a wait for a pooled connection past DB_POOL_TIMEOUT_MS
   * answers that request 503 SERVICE_UNAVAILABLE at once, instead of stalling every tenant behind it.
   */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  DB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).default(2_000),
  /** A transaction left idle this long (a stuck request) is ended by the server, releasing its locks. */
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  DB_POOL_TIMEOUT_MS: z.coerce.number().int().min(0).default(5_000),
  /** On SIGTERM/SIGINT: how long `/readyz` answers 503 while still serving, so load balancers stop sending first. */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  /** Then: how long in-flight requests (and SSE streams) get to finish before their connections are closed. */
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(600_000).default(20_000),
  /** The Prometheus listener (`/metrics`, no token): loopback by default; METRICS_PORT=0 picks a free port. */
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /**
   * Tenants (ids, comma-separated) whose operations get their own `tenant` label in the metrics; every
   * other request is labelled `other`. Unset (the default): no tenant label at all. Each listed tenant adds
   * a series per operation name, outcome and latency bucket: keep the list short.
   */
  METRICS_TENANT_LABELS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const ids = text
        .split(',')
        .map((id) => id.trim().toLowerCase())
        .filter(Boolean);
      if (ids.some((id) => !z.uuid().safeParse(id).success)) {
        ctx.addIssue({ code: 'custom', message: 'must be tenant ids (UUIDs), comma-separated' });
        return z.NEVER;
      }
      return [...new Set(ids)];
    }),
  /** `false`: no metrics listener, and nothing recorded per request or sampled from the process. */
  METRICS_ENABLED: z.enum(['true', 'false']).default('true'),
  /**
   * Several replicas share through it: rate-limit counters, and live updates (one relay per region
   * publishes each committed change, replicas subscribe per tenant; the per-tenant stream limit counts
   * across replicas). Unset: per process, and each replica LISTENs to every change itself.
   */
  REDIS_URL: z.url().optional(),
  /**
   * GraphQL over WebSocket: browser origins (`https://app.example.com`, comma-separated) besides the
   * gateway's own host whose pages may open a socket; any other `Origin` is refused (403).
   */
  GRAPHQL_WS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const origins = text
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean);
      if (origins.some((origin) => !URL.canParse(origin) || new URL(origin).origin !== origin)) {
        ctx.addIssue({ code: 'custom', message: 'must be origins (scheme://host[:port]), comma-separated' });
        return z.NEVER;
      }
      return origins;
    }),
  /** Live updates: open subscriptions per tenant on one replica; the next is refused with SUBSCRIPTION_LIMIT. */
  LIVE_SUBSCRIPTIONS_PER_TENANT: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Live updates: a subscription that delivered nothing for this long is closed (SUBSCRIPTION_ENDED). */
  LIVE_IDLE_SECONDS: z.coerce.number().int().min(1).default(1_800),
  /** Live updates: the longest life of a subscription (SUBSCRIPTION_ENDED); bounds an API key's revocation for open streams. */
  LIVE_MAX_LIFETIME_SECONDS: z.coerce.number().int().min(1).default(3_600),
  /** Isolation canary period; 0 runs it at start only. */
  CANARY_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  /**
   * This replica's name in the isolation canary's history (operators see it per replica; tenants never do).
   * Default: the host's name (a container's or pod's). Letters, digits, `.`, `_`, `:`, `-`; at most 100
   * (the column's CHECK, migrations/0037).
   */
  REPLICA_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/)
    .optional(),
  /**
   * The operator's allow-list of agent images, JSON: `[{"image": "acme/agent:2", "commands": [["/agent", "--fast"]]}]`.
   * The reference image `fleetgate/agent:1` is always allowed.
   */
  AGENT_IMAGES: z
    .string()
    .default('[]')
    .transform((text, ctx) => {
      const parsed = z
        .array(z.object({ image: z.string().min(1).max(200), commands: z.array(z.array(z.string()).min(1)).optional() }))
        .safeParse(safeJson(text));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON allow-list' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  /** Labels this gateway's containers and names its live updates in Redis; replicas sharing one engine and database share it. */
  FLEETGATE_INSTANCE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/)
    .default('fleetgate'),
  /**
   * `docker`: run agents on the Docker engine (DOCKER_HOST or the local socket). `none`: no engine; agents
   * are recorded and their jobs wait (a replica that serves only the API, or an image check without Docker).
   */
  AGENT_RUNTIME: z.enum(['docker', 'none']).default('docker'),
  /** An agent whose container exited or vanished: provision it again (`restart`) or mark it FAILED (`fail`). */
  AGENT_RESTART_POLICY: z.enum(['restart', 'fail']).default('restart'),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(30),
  /** Under `restart`: an agent whose container exits more often than this within the window is FAILED for good. */
  AGENT_MAX_RESTARTS: z.coerce.number().int().min(0).max(1000).default(5),
  AGENT_RESTART_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** How long an agent has to answer a task when runTask gives no timeout. */
  TASK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  /** The egress proxy's port at each tenant network's gateway address (egress agents' HTTP_PROXY). */
  EGRESS_PROXY_PORT: z.coerce.number().int().min(1).max(65_535).default(3128),
  /**
   * DANGEROUS: private ranges (CIDR, comma-separated) the egress proxy may connect to when an allowed
   * name resolves into them. Default none: private, loopback and link-local addresses are refused.
   */
  EGRESS_ALLOW_PRIVATE_CIDRS: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((cidr) => cidr.trim())
        .filter(Boolean),
    ),
  /** Denials of one egress agent within a minute that raise the isolation alert (FleetgateEgressDenialBurst). */
  EGRESS_DENIAL_BURST: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Parallel provisioning jobs per replica. */
  PROVISION_WORKERS: z.coerce.number().int().min(1).max(64).default(8),
  /** Where agent credentials' key-encryption key lives: `local` (FLEETGATE_HOME/keyring/kek.json) or `vault` (Transit). */
  KEY_PROVIDER: z.enum(['local', 'vault']).default('local'),
  VAULT_ADDR: z.url().optional(),
  /**
   * How the gateway logs in to Vault: `token` (VAULT_TOKEN, used as is), `approle` (VAULT_ROLE_ID with
   * VAULT_SECRET_ID or VAULT_SECRET_ID_FILE) or `kubernetes` (VAULT_K8S_ROLE and the pod's service
   * account token in VAULT_K8S_JWT_FILE). A logged-in token is renewed at 2/3 of its lease.
   */
  VAULT_AUTH: z.enum(['token', 'approle', 'kubernetes']).default('token'),
  /** Vault token for the Transit paths (VAULT_AUTH=token only); a Secret from here on. */
  VAULT_TOKEN: optionalSecret(),
  VAULT_ROLE_ID: z.string().min(1).optional(),
  /** The AppRole secret id; prefer VAULT_SECRET_ID_FILE (read at every login, so it can be replaced). */
  VAULT_SECRET_ID: optionalSecret(),
  VAULT_SECRET_ID_FILE: z.string().min(1).optional(),
  VAULT_APPROLE_MOUNT: z
    .string()
    .regex(/^[\w\-/]+$/)
    .default('approle'),
  VAULT_K8S_ROLE: z.string().min(1).optional(),
  VAULT_K8S_JWT_FILE: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  VAULT_K8S_MOUNT: z
    .string()
    .regex(/^[\w\-/]+$/)
    .default('kubernetes'),
  VAULT_NAMESPACE: z.string().min(1).optional(),
  VAULT_TRANSIT_MOUNT: z
    .string()
    .regex(/^[\w\-/]+$/)
    .default('transit'),
  VAULT_TRANSIT_KEY: z
    .string()
    .regex(/^[\w\-.]+$/)
    .default('fleetgate'),
  /** How often each replica looks for data keys to rewrap after a KEK rotation. */
  KEY_REWRAP_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** Seconds between an owner's requestTenantDeletion and the erasure (cancellable until then); default 7 days. */
  TENANT_DELETION_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 60 * 60)
    .default(7 * 24 * 60 * 60),
  /**
   * Lifetime of a user's access token. Short on purpose: the session's refresh token brings the next
   * one (revocation does not wait for it: see TokenLiveness). At most 24 hours.
   */
  USER_TOKEN_TTL: z
    .string()
    .regex(/^(\d+[smh]|1d)$/)
    .default('15m'),
  /** Self-service `signUp`: `open` to anyone, `invite` (the default in production) or `closed`. */
  SIGN_UP: z.enum(['open', 'invite', 'closed']).optional(),
  /** Sign-ups answered per client IP address per hour. */
  SIGN_UP_PER_IP_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(10),
});

export type Config = ReturnType<typeof loadConfig>;

/** Parses the environment once at start-up; a bad value stops the process with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema
    .superRefine(checkVault)
    .refine((config) => !(config.HOME_REGION in config.REGIONS), { message: 'HOME_REGION is listed in REGIONS too', path: ['REGIONS'] })
    .safeParse(env);
  if (!parsed.success) {
    // Names, and the rule for the cross-field checks; never a value (some are secrets).
    const fields = parsed.error.issues
      .map((issue) => (issue.code === 'custom' ? `${issue.path.join('.')} (${issue.message})` : issue.path.join('.')))
      .join(', ');
    throw new Error(`invalid configuration: ${fields}`);
  }
  const home = resolve(parsed.data.FLEETGATE_HOME);
  return {
    ...parsed.data,
    pgDataDir: resolve(home, 'pgdata'),
    keyringDir: resolve(home, 'keyring'),
    channelDir: resolve(home, 'run', 'agents'),
    backupDir: resolve(parsed.data.BACKUP_DIR ?? resolve(home, 'backups')),
  };
}

/** The Vault settings KEY_PROVIDER=vault needs for its VAULT_AUTH, and none that another method would use. */
function checkVault(config: z.infer<typeof schema>, ctx: z.RefinementCtx): void {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (config.KEY_PROVIDER !== 'vault') return;
  if (!config.VAULT_ADDR) problem('VAULT_ADDR', 'KEY_PROVIDER=vault needs VAULT_ADDR');
  const auth = config.VAULT_AUTH;
  if (auth === 'token' && !config.VAULT_TOKEN) problem('VAULT_TOKEN', 'VAULT_AUTH=token needs VAULT_TOKEN');
  if (auth !== 'token' && config.VAULT_TOKEN) problem('VAULT_TOKEN', `VAULT_AUTH=${auth} logs in: unset VAULT_TOKEN`);
  if (auth === 'approle') {
    if (!config.VAULT_ROLE_ID) problem('VAULT_ROLE_ID', 'VAULT_AUTH=approle needs VAULT_ROLE_ID');
    if (!config.VAULT_SECRET_ID === !config.VAULT_SECRET_ID_FILE)
      problem('VAULT_SECRET_ID', 'VAULT_AUTH=approle needs exactly one of VAULT_SECRET_ID and VAULT_SECRET_ID_FILE');
  } else if (config.VAULT_ROLE_ID || config.VAULT_SECRET_ID || config.VAULT_SECRET_ID_FILE) {
    problem('VAULT_ROLE_ID', `VAULT_ROLE_ID and VAULT_SECRET_ID(_FILE) are for VAULT_AUTH=approle, not ${auth}`);
  }
  if (auth === 'kubernetes' && !config.VAULT_K8S_ROLE) problem('VAULT_K8S_ROLE', 'VAULT_AUTH=kubernetes needs VAULT_K8S_ROLE');
  if (auth !== 'kubernetes' && config.VAULT_K8S_ROLE) problem('VAULT_K8S_ROLE', `VAULT_K8S_ROLE is for VAULT_AUTH=kubernetes, not ${auth}`);
}

function optionalSecret() {
  return z
    .string()
    .min(1)
    .optional()
    .transform((value) => (value === undefined ? undefined : new Secret(value)));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
