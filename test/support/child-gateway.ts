import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A gateway process of its own (test/support/crash-gateway.ts or runtime-gateway.ts) with `env`,
 * resolved once it prints its port; chaos tests SIGKILL it. `kill()` waits until it is gone.
 */
export async function spawnGateway(script: 'crash-gateway' | 'runtime-gateway', env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', `test/support/${script}.ts`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      const match = /port (\d+)/.exec(String(chunk));
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    child: child as ChildProcess,
    url: `http://127.0.0.1:${port}/graphql`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
