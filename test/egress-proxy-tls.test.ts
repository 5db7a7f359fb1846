import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EgressEvent } from '../src/modules/egress/egress-proxy.ts';
import { EgressProxy } from '../src/modules/egress/egress-proxy.ts';
import { Secret } from '../src/shared/secret.ts';
import { capturedLogger } from './support/captured-logger.ts';

/**
 * The plain-HTTP convention's TLS leg (docs/security-model.md, Egress): the agent asks the proxy for
 * `http://api.tls.test:<tls port>/…` and the proxy speaks HTTPS upstream, verifying the certificate
 * for the name asked, with the credential swapped into the headers. A real HTTPS server with a
 * certificate made by openssl for the test; the proxy on loopback, the test's own address admitted
 * as the agent's (the Docker route is egress-proxy.test.ts).
 */
const run = promisify(execFile);
const SECRET = `sk-tls-${Math.random().toString(36).slice(2)}${Date.now()}`;
let dir: string;
let upstream: Server;
let upstreamPort: number;
let ca = '';
const events: EgressEvent[] = [];
const received: Record<string, string | undefined>[] = [];
const { log, text: logs } = capturedLogger();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'egress-tls-'));
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=api.tls.test',
    '-addext',
    'subjectAltName=DNS:api.tls.test',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  const [key, cert] = await Promise.all([readFile(join(dir, 'key.pem')), readFile(join(dir, 'cert.pem'), 'utf8')]);
  upstream = createServer({ key, cert }, (req, res) => {
    received.push({ authorization: req.headers.authorization, host: req.headers.host, path: req.url });
    res.end(`tls ok ${req.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  ca = cert;
});

afterAll(async () => {
  upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A proxy trusting the test's certificate, listening on `port` at 127.0.0.1 once the test's own address is admitted as agent-a's. */
async function admitAndListen(port: number): Promise<EgressProxy> {
  const each = new EgressProxy({
    log,
    port,
    tlsPorts: [upstreamPort],
    upstreamCa: ca,
    allowPrivateCidrs: ['127.0.0.1/32'],
    resolve: async (host) => (host.endsWith('.tls.test') ? ['127.0.0.1'] : []),
    onEvent: (event) => events.push(event),
  });
  await each.admit(
    { containerId: 'c1', address: '127.0.0.1', gateway: '127.0.0.1' },
    {
      tenantId: 'tenant-a',
      agentId: 'agent-a',
      rules: [
        { host: 'api.tls.test', port: upstreamPort },
        { host: 'other.tls.test', port: upstreamPort },
      ],
      bindings: [{ placeholder: 'fgs_ph_tls', value: new Secret(SECRET), hosts: [{ host: 'api.tls.test', port: upstreamPort }] }],
    },
  );
  return each;
}

function viaProxy(port: number, host: string, path: string): Promise<{ status: number; body: string; refusal?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `http://${host}:${upstreamPort}${path}`,
        headers: { host: `${host}:${upstreamPort}`, authorization: 'Bearer fgs_ph_tls', connection: 'close' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, refusal: res.headers['x-fleetgate-egress'] as string | undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the TLS leg of a plain-HTTP forward request', () => {
  let port: number;
  let tls: EgressProxy;
  beforeAll(async () => {
    port = 20_000 + Math.floor(Math.random() * 20_000);
    tls = await admitAndListen(port);
  });
  afterAll(() => tls?.close());

  test('http://host:<tls port> goes upstream over verified HTTPS, the secret swapped into the header for its bound host', async () => {
    const answer = await viaProxy(port, 'api.tls.test', '/v1/models');
    expect(answer).toMatchObject({ status: 200, body: 'tls ok /v1/models' });
    expect(received.at(-1)).toEqual({ authorization: `Bearer ${SECRET}`, host: `api.tls.test:${upstreamPort}`, path: '/v1/models' });
    expect(events.at(-1)).toMatchObject({ kind: 'http', outcome: 'allowed', host: 'api.tls.test', swapped: 1 });
    expect(logs()).not.toContain(SECRET);
  });

  test('a certificate that does not name the host asked is refused (502), and nothing is sent', async () => {
    const before = received.length;
    const answer = await viaProxy(port, 'other.tls.test', '/');
    expect(answer).toMatchObject({ status: 502, refusal: 'upstream_error' });
    expect(received.length).toBe(before);
    expect(events.at(-1)).toMatchObject({ outcome: 'denied', reason: 'upstream_error', host: 'other.tls.test' });
  });

  test('an entry whose container left the network (exited on its own) is dropped before the next start; its tenant’s last one closes the listener', async () => {
    tls.retain('tenant-a', [{ containerId: 'c1', address: '127.0.0.1' }]);
    expect((await viaProxy(port, 'api.tls.test', '/')).status).toBe(200);
    // A sibling agent of the tenant, at another address, keeps the tenant's listener open.
    await tls.admit(
      { containerId: 'c9', address: '127.0.0.9', gateway: '127.0.0.1' },
      { tenantId: 'tenant-a', agentId: 'agent-9', rules: [], bindings: [] },
    );
    tls.retain('tenant-a', [
      { containerId: 'c2', address: '127.0.0.1' }, // another container holds the address now
      { containerId: 'c9', address: '127.0.0.9' },
    ]);
    const before = received.length;
    expect(await viaProxy(port, 'api.tls.test', '/')).toMatchObject({ status: 403, refusal: 'unknown_agent' });
    expect(received.length).toBe(before);
    tls.forget('agent-9');
    await expect(viaProxy(port, 'api.tls.test', '/')).rejects.toThrow(/ECONNREFUSED/);
  });
});
