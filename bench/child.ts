import { createServer, type RequestListener } from 'node:http';
import { createInterface } from 'node:readline';

/** Configuration the orchestrator passes to a server child through its environment. */
export interface ChildConfig {
  appUrl: string;
  keyringDir: string;
  poolSize: number;
}

export function childConfig(): ChildConfig {
  const { BENCH_APP_URL, BENCH_KEYRING_DIR, BENCH_POOL_SIZE } = process.env;
  if (!BENCH_APP_URL || !BENCH_KEYRING_DIR || !BENCH_POOL_SIZE) {
    throw new Error('BENCH_APP_URL, BENCH_KEYRING_DIR and BENCH_POOL_SIZE are required (run through `npm run bench`)');
  }
  return { appUrl: BENCH_APP_URL, keyringDir: BENCH_KEYRING_DIR, poolSize: Number(BENCH_POOL_SIZE) };
}

/**
 * Serves `handler` on 127.0.0.1 and an ephemeral port, then prints `READY <port>` on stdout: the
 * orchestrator's signal. Answers a `cpu` line on stdin with `CPU <µs>`, the CPU time this process
 * (all its threads) has used so far. Exits on SIGTERM, and also when stdin closes, so a child
 * never outlives an orchestrator that died without cleaning up.
 */
export async function serveChild(
  handler: RequestListener,
  close: () => Promise<void>,
  /** Any other line on stdin (a bench switching a mode of this process between rounds); answered `OK`. */
  onCommand?: (line: string) => void,
): Promise<void> {
  const http = createServer({ keepAliveTimeout: 60_000 }, handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    http.closeAllConnections();
    http.close();
    close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line !== 'cpu') {
        onCommand?.(line);
        process.stdout.write('OK\n');
        return;
      }
      const { user, system } = process.cpuUsage();
      process.stdout.write(`CPU ${user + system}\n`);
    })
    .on('close', stop);
  process.stdout.write(`READY ${address.port}\n`);
}

/** Reports a start-up failure on stderr (the orchestrator forwards it) and exits non-zero. */
export function failChild(name: string) {
  return (error: unknown) => {
    process.stderr.write(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
}
