import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A pass-through Unix socket in front of the real Docker engine, for tests that take the engine
 * away from the gateway without stopping the shared dockerd: `cut()` drops every connection and
 * refuses new ones (as a stopped engine does), `restore()` lets them through again. Every byte the
 * gateway exchanges is the real engine's.
 */
export async function startDockerProxy(engineSocket = '/var/run/docker.sock') {
  const dir = await mkdtemp(join(tmpdir(), 'fleetgate-docker-proxy-'));
  const path = join(dir, 'docker.sock');
  const open = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const engine = connect(engineSocket);
    for (const socket of [client, engine]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => engine.destroy());
    engine.on('close', () => client.destroy());
    client.pipe(engine);
    engine.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      down = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
