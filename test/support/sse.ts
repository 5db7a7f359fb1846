/** One Server-Sent Event of a GraphQL subscription: `next` with a result, or `complete`. */
export interface SseEvent {
  event: string;
  data?: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
  /** performance.now() when it was read. */
  at: number;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response> | Response;

/**
 * Opens a subscription over SSE (yoga's "distinct connections" mode: POST with
 * `accept: text/event-stream`) through `fetch` (an in-process yoga's or the global one), and
 * collects its events as they come; `until` waits for one, `close` cancels the stream.
 */
export async function subscribe(
  fetch: Fetch,
  url: string,
  /** The document's text, or `{ documentId }` (a trusted document's hash). */
  document: string | { documentId: string },
  variables: Record<string, unknown>,
  token?: string,
) {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(typeof document === 'string' ? { query: document, variables } : { ...document, variables }),
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  let ended = false;
  const reader = response.body?.getReader();
  const reading = (async () => {
    if (!reader) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const parsed = parseBlock(block);
          if (parsed) events.push(parsed);
        }
      }
    } catch {
      // cancelled
    } finally {
      ended = true;
    }
  })();
  return {
    status: response.status,
    events,
    /** `next` events' payloads so far. */
    get results() {
      return events.filter((each) => each.event === 'next').map((each) => each.data ?? {});
    },
    get ended() {
      return ended;
    },
    /** Waits until an event matches, or fails after `timeoutMs`. */
    async until(match: (event: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (performance.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    /** Waits for the n-th `next` event (1-based). */
    nth(n: number, timeoutMs = 10_000): Promise<SseEvent> {
      return this.until((event) => event === events.filter((each) => each.event === 'next')[n - 1], timeoutMs);
    },
    async close() {
      controller.abort();
      await reader?.cancel().catch(() => undefined);
      await reading;
    },
  };
}

export type Subscription = Awaited<ReturnType<typeof subscribe>>;

/** The final error event's code, if the stream got one. */
export function finalErrorCode(subscription: Subscription): string | undefined {
  return subscription.results.find((result) => result.errors?.length)?.errors?.[0]?.extensions?.code;
}

function parseBlock(block: string): SseEvent | undefined {
  let event = '';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trim();
  }
  if (!event) return undefined; // a keep-alive comment
  return { event, data: data ? JSON.parse(data) : undefined, at: performance.now() };
}
