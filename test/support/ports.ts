import { createServer } from 'node:net';

/**
 * The first of `count` consecutive ports on 127.0.0.1 that are free now, for a child process to
 * listen on. Drawn below Linux's ephemeral range (32768–60999 here): a port in it can be taken at any
 * moment by an outgoing connection of the same machine (the test suite's own, to Postgres), which
 * made a random pick there fail with EADDRINUSE once in a while.
 */
export async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return first;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
