import type { Plugin } from 'graphql-yoga';
import { clientError } from '../../shared/errors.ts';

const DIGITS = /^\d+$/;

/**
 * Refuses a request body over `maxBytes` (413) before it is read. Node's HTTP parser delivers
 * exactly Content-Length bytes of body (and refuses a request that sends both Content-Length and
 * chunked encoding), so a declared length is checked and nothing more; only a body without one
 * (chunked, or an in-process Request) is counted as it is read. (An in-process caller of
 * `yoga.fetch`, tests and benchmarks, is trusted to declare a true length.)
 *
 * It replaces yoga's own limit, which pipes every body through a TransformStream to count it:
 * measurable CPU on every request (bench/run.ts profile: the stream and the AbortError it creates).
 */
export function useRequestBodyLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.method !== 'POST') return;
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (!DIGITS.test(declared)) throw clientError('BAD_REQUEST', 'Content-Length header is invalid.', { http: { status: 400 } });
        if (Number(declared) > maxBytes) throw tooLarge();
        return;
      }
      if (!requestParser) return;
      setRequestParser(async (original) => requestParser(await readAtMost(original, maxBytes, fetchAPI.Request)));
    },
  };
}

/** The request again, its body read into memory, or 413 as soon as it passes `maxBytes`. */
async function readAtMost(request: Request, maxBytes: number, RequestCtor: typeof Request): Promise<Request> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new RequestCtor(request.url, { method: request.method, headers: request.headers, body: Buffer.concat(chunks) });
}

function tooLarge() {
  return clientError('REQUEST_TOO_LARGE', 'Request body too large', { http: { status: 413 } });
}
