import Docker from 'dockerode';
import { DockerRuntime } from '../../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../../src/shared/global-id.ts';

/** The real engine, for inspecting what the gateway created; never used to fake the gateway's own work. */
export const docker = new Docker();

export function containerOf(agentGlobalId: string) {
  return docker.getContainer(DockerRuntime.containerName(decodeGlobalId(agentGlobalId).id));
}

/** Runs a command inside an agent's container as its own user; returns its exit code and output. */
export async function execIn(agentGlobalId: string, command: string[], timeoutMs = 15_000): Promise<{ exitCode: number; output: string }> {
  const exec = await containerOf(agentGlobalId).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const output = new (await import('node:stream')).PassThrough();
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, output, output);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve();
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
}

/** Polls until `check` returns a value that is not undefined, or fails with the last value seen. */
export async function waitFor<T>(probe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`timed out; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await probe();
  }
  return last;
}
