import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  /** Administrative Postgres URL used for migrations (creates roles, owns the schema). Unset: embedded Postgres. */
  DATABASE_URL: z.url().optional(),
  /** URL the gateway serves requests with. Defaults to DATABASE_URL with the `fleetgate_app` role. */
  APP_DATABASE_URL: z.url().optional(),
  /** Where the embedded defaults keep their state: `pgdata/` and `keyring/` (kept apart). */
  FLEETGATE_HOME: z.string().default('.fleetgate'),
  /** Port of the embedded Postgres (the system one usually holds 5432). */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `production`: only operators may send operations outside the trusted-documents manifest. */
  FLEETGATE_MODE: z.enum(['development', 'production']).default('development'),
  RATE_LIMIT_TENANT_PER_MINUTE: z.coerce.number().int().min(1).default(1_200),
  RATE_LIMIT_API_KEY_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Shared rate-limit counters for several replicas; unset: per process. */
  REDIS_URL: z.url().optional(),
  /** Isolation canary period; 0 runs it at start only. */
  CANARY_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(60),
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
  /** Labels this gateway's containers; replicas sharing one engine and database share it. */
  FLEETGATE_INSTANCE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/)
    .default('fleetgate'),
  /** An agent whose container exited or vanished: provision it again (`restart`) or mark it FAILED (`fail`). */
  AGENT_RESTART_POLICY: z.enum(['restart', 'fail']).default('restart'),
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(30),
  /** Parallel provisioning jobs per replica. */
  PROVISION_WORKERS: z.coerce.number().int().min(1).max(64).default(8),
  /** Lifetime of user tokens minted by signUp, addMember and refreshToken. */
  USER_TOKEN_TTL: z
    .string()
    .regex(/^\d+[smhd]$/)
    .default('12h'),
});

export type Config = ReturnType<typeof loadConfig>;

/** Parses the environment once at start-up; a bad value stops the process with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`invalid configuration: ${fields}`);
  }
  const home = resolve(parsed.data.FLEETGATE_HOME);
  return {
    ...parsed.data,
    pgDataDir: resolve(home, 'pgdata'),
    keyringDir: resolve(home, 'keyring'),
    channelDir: resolve(home, 'run', 'agents'),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
