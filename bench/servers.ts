import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildConfig } from './child.ts';
import type { AnswerCheck, RequestBody } from './load.ts';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

export interface ServerProcess {
  name: string;
  port: number;
  /** CPU time the server process has used so far, in microseconds. */
  cpuMicros: () => Promise<number>;
  /** The request body this server is sent, when it is not bench/load.ts's AGENTS_QUERY. */
  body?: RequestBody;
  /** How its answers are checked, when they are not pages of agents (bench/load.ts's checkPage). */
  check?: AnswerCheck;
  /** Extra request headers this server is sent (a client app's name, for a trusted document). */
  headers?: Record<string, string>;
  /** Sends a line to the process (see serveChild's onCommand) and waits for its `OK`. */
  command: (line: string) => Promise<void>;
  /** Run before each of this server's rounds (a mode of a shared process switches it on). */
  prepare?: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * One mode of a running server: the same process, switched by `line` before each of its rounds.
 * Two modes of one process compare a feature on and off without the difference between processes.
 */
export function modeOf(server: ServerProcess, name: string, line: string): ServerProcess {
  return { ...server, name, prepare: () => server.command(line) };
}

/**
 * Starts `bench/<script>` in its own Node process (this Node, with tsx), so the server under test
 * and the load generator never share an event loop, and resolves once it prints `READY <port>`.
 */
export async function startServer(
  name: string,
  script: string,
  config: ChildConfig,
  args: string[] = [],
  extra: { body?: RequestBody; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), ...args], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_APP_URL: config.appUrl,
      BENCH_KEYRING_DIR: config.keyringDir,
      BENCH_POOL_SIZE: String(config.poolSize),
      ...extra.env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const cpuReplies: ((micros: number) => void)[] = [];
  const okReplies: (() => void)[] = [];
  const port = await waitForReady(
    name,
    child,
    (micros) => cpuReplies.shift()?.(micros),
    () => okReplies.shift()?.(),
  );
  // A server that died answers NaN rather than never; its requests fail and the bench reports that.
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => {
    for (const reply of cpuReplies.splice(0)) reply(Number.NaN);
    for (const reply of okReplies.splice(0)) reply();
  });
  child.stdin?.on('error', () => undefined);
  const cpuMicros = () =>
    new Promise<number>((resolve) => {
      if (exited()) return resolve(Number.NaN);
      cpuReplies.push(resolve);
      child.stdin?.write('cpu\n');
    });
  const command = (line: string) =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve();
      okReplies.push(resolve);
      child.stdin?.write(`${line}\n`);
    });
  return { name, port, cpuMicros, body: extra.body, command, stop: () => stopChild(child) };
}

function waitForReady(name: string, child: ChildProcess, onCpu: (micros: number) => void, onOk: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onExit = (code: number | null) => fail(new Error(`${name} exited during start-up (code ${code})`));
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', onExit);
    if (!child.stdout) return fail(new Error('child has no stdout'));
    // Anything else a child prints on stdout is passed through to ours.
    createInterface({ input: child.stdout }).on('line', (line) => {
      const cpu = /^CPU (\d+)$/.exec(line);
      if (cpu) return onCpu(Number(cpu[1]));
      if (line === 'OK') return onOk();
      const ready = /^READY (\d+)$/.exec(line);
      if (!ready) return void process.stdout.write(`[${name}] ${line}\n`);
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(Number(ready[1]));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
