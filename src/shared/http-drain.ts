import type { Server } from 'node:http';

/**
 * Stops `server` accepting connections and lets the requests in flight finish: idle keep-alive
 * connections are closed at once and again every 100 ms (a connection turns idle when its response
 * ends), and whatever is still open at the deadline (a slow request, an SSE stream) is closed then.
 * Answers whether everything finished in time.
 */
export async function drainHttpServer(server: Server, deadlineMs: number): Promise<{ drained: boolean }> {
  if (!server.listening) return { drained: true };
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), deadlineMs);
  });
  try {
    if ((await Promise.race([closed, deadline])) !== 'deadline') return { drained: true };
    server.closeAllConnections();
    await closed;
    return { drained: false };
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
}
