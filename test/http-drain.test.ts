import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { drainHttpServer } from '../src/shared/http-drain.ts';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('drain waits for a slow request to finish and refuses new connections meanwhile', async () => {
  const url = await listen((request, response) => {
    if (request.url === '/slow') setTimeout(() => response.end('done'), 400);
    else response.end('fast');
  });
  expect(await (await fetch(`${url}/fast`)).text()).toBe('fast'); // leaves an idle keep-alive connection
  const slow = fetch(`${url}/slow`).then((response) => response.text());
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  const drained = drainHttpServer(server as Server, 5_000);
  await expect(fetch(`${url}/fast`)).rejects.toThrow();
  expect(await slow).toBe('done');
  expect(await drained).toEqual({ drained: true });
  expect(performance.now() - started).toBeLessThan(2_000);
});

test('drain closes what is still open at the deadline (an SSE stream) and says so', async () => {
  const url = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(': open\n\n'); // and never ends
  });
  const stream = await fetch(url);
  const reading = stream.text().catch((error: unknown) => error);
  const started = performance.now();
  expect(await drainHttpServer(server as Server, 300)).toEqual({ drained: false });
  const elapsed = performance.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(280);
  expect(elapsed).toBeLessThan(2_000);
  expect(await reading).toBeInstanceOf(Error); // the client saw its stream cut
});
