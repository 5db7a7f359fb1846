import { lookup as dnsLookup } from 'node:dns/promises';
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, connect, isIP, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../shared/logger.ts';
import {
  checkDestination,
  checkResolved,
  type EgressRefusal,
  type EgressRule,
  type PlaceholderBinding,
  swapPlaceholders,
} from './egress-policy.ts';

/**
 * The egress proxy (issue 21, docs/security-model.md "Egress"). An egress agent sits on its tenant's
 * `--internal` Docker network: no route out, no resolver that answers outside names; the only thing
 * it can reach beyond its tenant's network is the host, where this proxy listens on the bridge's
 * gateway address. The proxy knows the agent by the connection's source address on that bridge
 * (admitted by the provisioner when it starts the container), never by anything the agent sends.
 *
 * Two ways through, both checked the same (allow-list, the proxy's own DNS lookup, every address public):
 * - `CONNECT host:port`: a TLS tunnel, bytes passed through; nothing is swapped (the proxy cannot see inside).
 * - a plain-HTTP forward request (`GET http://host:port/path`, as HTTP_PROXY clients send for http://
 *   URLs): the proxy makes the request itself, over TLS when the port is one of `tlsPorts` (443 by
 *   default: an agent asks `http://api.example.com:443/…` and the proxy speaks https upstream,
 *   verifying the certificate), and replaces credential placeholders in the headers for the hosts each
 *   credential is bound to. The agent never holds the real value.
 */

/** What the proxy knows of one running egress agent: its tenant, allow-list and placeholder bindings. */
export interface EgressGrant {
  tenantId: string;
  agentId: string;
  rules: readonly EgressRule[];
  bindings: readonly PlaceholderBinding[];
}

/** Where the agent's container sits: its address on its tenant's network and that network's gateway (the host side). */
export interface EgressEndpoint {
  containerId: string;
  address: string;
  gateway: string;
}

export type EgressDenial = EgressRefusal | 'unknown_agent' | 'foreign_listener' | 'bad_request' | 'upstream_error';

/** One connection or forwarded request, for the audit log and metrics: never a header, never a value. */
export interface EgressEvent {
  tenantId: string | null;
  agentId: string | null;
  kind: 'connect' | 'http';
  host: string;
  port: number;
  outcome: 'allowed' | 'denied';
  reason?: EgressDenial;
  /** Bytes from the agent to the destination and back (0 when denied). */
  bytesOut: number;
  bytesIn: number;
  /** How many placeholders were replaced (http only). */
  swapped: number;
}

export interface EgressProxyOptions {
  log: Logger;
  /** The port the proxy listens on at each tenant network's gateway address (default 3128). */
  port?: number;
  /** Resolves a host name to its addresses (default: the host's resolver, every address). */
  resolve?: (host: string) => Promise<string[]>;
  /**
   * DANGEROUS (EGRESS_ALLOW_PRIVATE_CIDRS): private ranges the proxy may connect to although they are
   * not public. For tests and for operators whose allowed services really live on a private network;
   * every address the allow-list resolves to inside them becomes reachable by egress agents. Default: none.
   */
  allowPrivateCidrs?: readonly string[];
  /** Ports on which a plain-HTTP forward request is sent upstream over TLS (default [443]). */
  tlsPorts?: readonly number[];
  /** Extra CA certificates (PEM) trusted for TLS upstream, besides Node's bundled roots. */
  upstreamCa?: string | readonly string[];
  /** Every connection and request, allowed or denied (audit, metrics, the denial-burst alarm). */
  onEvent?: (event: EgressEvent) => void;
}

interface Listener {
  server: Server;
  tenantId: string;
  ready: Promise<void>;
}

interface Admitted extends EgressGrant {
  containerId: string;
  address: string;
}

/** A tunnel's upstream that does not accept the connection within this is an upstream_error (502). */
const CONNECT_TIMEOUT_MS = 10_000;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export class EgressProxy {
  readonly port: number;
  readonly #log: Logger;
  readonly #resolve: (host: string) => Promise<string[]>;
  readonly #allowPrivate: BlockList | null;
  readonly #tlsPorts: ReadonlySet<number>;
  readonly #onEvent: (event: EgressEvent) => void;
  /** One listener per tenant network gateway address. */
  readonly #listeners = new Map<string, Listener>();
  /** Admitted agents by their address on their tenant network. */
  readonly #byAddress = new Map<string, Admitted>();
  /** Open CONNECT tunnels (both ends): the HTTP servers no longer track them, close() ends them. */
  readonly #tunnels = new Set<Duplex>();
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent: HttpsAgent;

  constructor(options: EgressProxyOptions) {
    this.port = options.port ?? 3128;
    this.#log = options.log.child({ component: 'egress-proxy' });
    this.#resolve = options.resolve ?? (async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address));
    this.#allowPrivate = blockListOf(options.allowPrivateCidrs ?? []);
    this.#tlsPorts = new Set(options.tlsPorts ?? [443]);
    this.#onEvent = options.onEvent ?? (() => undefined);
    const ca = options.upstreamCa;
    this.#httpsAgent = new HttpsAgent({ keepAlive: true, ...(ca ? { ca: [...(typeof ca === 'string' ? [ca] : ca)] } : {}) });
  }

  /**
   * Lets the agent's container through its tenant's listener, from its address on its tenant network.
   * Called by the provisioner after each start (the engine gives the address at start), replacing
   * whatever was admitted from that address before: a stale entry of a container that exited gives
   * way to the container that now holds the address.
   */
  async admit(endpoint: EgressEndpoint, grant: EgressGrant): Promise<void> {
    for (const [address, entry] of this.#byAddress) if (entry.agentId === grant.agentId) this.#byAddress.delete(address);
    this.#byAddress.set(normaliseAddress(endpoint.address), { ...grant, containerId: endpoint.containerId, address: endpoint.address });
    await this.#listen(endpoint.gateway, grant.tenantId);
    this.#log.info({ tenantId: grant.tenantId, agentId: grant.agentId, rules: grant.rules.length }, 'egress agent admitted');
  }

  /**
   * Keeps only the tenant's entries whose container still holds its address on the network (as the
   * engine lists them now). The provisioner calls it before each egress start: a container that
   * exited on its own leaves no entry behind for the next container the engine gives its address.
   */
  retain(tenantId: string, endpoints: readonly { containerId: string; address: string }[]): void {
    const live = new Set(endpoints.map(({ containerId, address }) => `${containerId}@${normaliseAddress(address)}`));
    for (const [address, entry] of this.#byAddress) {
      if (entry.tenantId === tenantId && !live.has(`${entry.containerId}@${address}`)) this.#byAddress.delete(address);
    }
    this.#closeIfIdle(tenantId);
  }

  /**
   * The agent no longer goes through (stopped, removed, recreated): its address is forgotten at once,
   * and its tenant's listener closes with the tenant's last admitted agent (its network may go, and
   * the gateway address come back for another tenant's network).
   */
  forget(agentId: string): void {
    let tenantId: string | undefined;
    for (const [address, entry] of this.#byAddress) {
      if (entry.agentId !== agentId) continue;
      tenantId = entry.tenantId;
      this.#byAddress.delete(address);
    }
    if (tenantId) this.#closeIfIdle(tenantId);
  }

  #closeIfIdle(tenantId: string): void {
    if ([...this.#byAddress.values()].some((entry) => entry.tenantId === tenantId)) return;
    for (const [gateway, listener] of this.#listeners) {
      if (listener.tenantId !== tenantId) continue;
      this.#listeners.delete(gateway);
      listener.server.close();
      listener.server.closeAllConnections();
    }
  }

  async close(): Promise<void> {
    const servers = [...this.#listeners.values()].map((listener) => listener.server);
    this.#listeners.clear();
    this.#byAddress.clear();
    for (const socket of this.#tunnels) socket.destroy();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  #listen(gateway: string, tenantId: string): Promise<void> {
    const existing = this.#listeners.get(gateway);
    if (existing?.tenantId === tenantId) return existing.ready;
    if (existing) {
      // The engine gives a gateway address to one network at a time: the other tenant's network is
      // gone (removed while entries of its agents lingered here), and so are its containers.
      this.#log.warn({ tenantId, previousTenantId: existing.tenantId }, 'egress listener address reused by another tenant network');
      this.#listeners.delete(gateway);
      existing.server.close();
      existing.server.closeAllConnections();
      for (const [address, entry] of this.#byAddress) if (entry.tenantId === existing.tenantId) this.#byAddress.delete(address);
    }
    const server = createServer({ keepAlive: true });
    // A client that half-closes after its request (`printf … | nc`) still gets its answer: Node's
    // default aborts the request when the client's side ends, before a forwarded answer can come back.
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('request', (request, response) => void this.#forward(tenantId, request, response));
    server.on('connect', (request, socket, head) => void this.#tunnel(tenantId, request, socket, head));
    server.on('clientError', (_error, socket) => socket.destroy());
    const ready = new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        this.#listeners.delete(gateway);
        reject(error);
      });
      server.listen(this.port, gateway, () => resolve());
    });
    this.#listeners.set(gateway, { server, tenantId, ready });
    return ready;
  }

  /**
   * Who is asking: the agent admitted from the connection's source address, and only on its own
   * tenant's listener. Every host address is reachable from every bridge (the host answers on all its
   * addresses), so an agent of tenant A can connect to tenant B's listener: its source address is on
   * A's network, and the listener is B's, so it is refused here.
   */
  #identify(tenantId: string, socket: Socket | Duplex): { agent: Admitted | null; refusal?: EgressDenial; asker: Admitted | null } {
    const remote = (socket as Socket).remoteAddress;
    const entry = remote ? this.#byAddress.get(normaliseAddress(remote)) : undefined;
    if (!entry) return { agent: null, refusal: 'unknown_agent', asker: null };
    // Attributed to the agent that tried, in its own tenant's audit log (never in the listener's tenant's).
    if (entry.tenantId !== tenantId) return { agent: null, refusal: 'foreign_listener', asker: entry };
    return { agent: entry, asker: entry };
  }

  /** The event of one request to `target`, denied until it is let through, attributed to the admitted agent that asked (none: unknown). */
  #eventOf(kind: EgressEvent['kind'], asker: Admitted | null, target: { host: string; port: number } | null): EgressEvent {
    return {
      tenantId: asker?.tenantId ?? null,
      agentId: asker?.agentId ?? null,
      kind,
      host: target?.host ?? '',
      port: target?.port ?? 0,
      outcome: 'denied',
      bytesOut: 0,
      bytesIn: 0,
      swapped: 0,
    };
  }

  /** The destination's checked addresses, or why not: the allow-list, then the proxy's own lookup, then every address. */
  async #check(agent: Admitted, host: string, port: number): Promise<{ address: string } | { reason: EgressDenial }> {
    const decision = checkDestination(host, port, agent.rules);
    if (!decision.allowed) return { reason: decision.reason };
    let addresses: string[];
    try {
      addresses = await this.#resolve(host);
    } catch {
      return { reason: 'no_address' };
    }
    // Every address must pass (one private address among public ones is a rebinding attempt); the
    // operator's DANGEROUS private ranges are the only exception.
    const outside = addresses.filter((address) => !this.#isAllowedPrivate(address));
    if (addresses.length === 0) return { reason: 'no_address' };
    if (outside.length > 0) {
      const resolved = checkResolved(outside);
      if (!resolved.allowed) return { reason: resolved.reason };
    }
    return { address: addresses[0] as string };
  }

  #isAllowedPrivate(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.#allowPrivate !== null && this.#allowPrivate.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  async #tunnel(tenantId: string, request: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const { agent, refusal, asker } = this.#identify(tenantId, client);
    const target = parseAuthority(request.url ?? '');
    const event = this.#eventOf('connect', asker, target);
    const refuse = (status: number, reason: EgressDenial) => {
      this.#emit({ ...event, reason });
      client.end(
        `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\nx-fleetgate-egress: ${reason}\r\nconnection: close\r\n\r\n`,
      );
    };
    client.on('error', () => undefined);
    if (!agent) return refuse(403, refusal ?? 'unknown_agent');
    if (!target) return refuse(403, 'bad_request');
    const checked = await this.#check(agent, target.host, target.port);
    if ('reason' in checked) return refuse(403, checked.reason);
    const upstream = connect({ host: checked.address, port: target.port, timeout: CONNECT_TIMEOUT_MS });
    let established = false;
    upstream.once('timeout', () => {
      if (!established) upstream.destroy(new Error('connect timeout'));
    });
    upstream.once('error', () => {
      if (!established) refuse(502, 'upstream_error');
      else client.destroy();
    });
    upstream.once('connect', () => {
      established = true;
      upstream.setTimeout(0);
      this.#tunnels.add(client).add(upstream);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      const done = () => {
        this.#tunnels.delete(client);
        this.#tunnels.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.once('close', done);
      upstream.once('close', () => {
        done();
        this.#emit({ ...event, outcome: 'allowed', bytesOut: upstream.bytesWritten, bytesIn: upstream.bytesRead });
      });
    });
  }

  async #forward(tenantId: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { agent, refusal, asker } = this.#identify(tenantId, request.socket);
    const target = parseTarget(request);
    const event = this.#eventOf('http', asker, target);
    const refuse = (status: number, reason: EgressDenial) => {
      this.#emit({ ...event, reason });
      request.resume();
      if (response.headersSent) return void response.destroy();
      response.writeHead(status, { 'content-type': 'text/plain', 'x-fleetgate-egress': reason }).end(`egress refused: ${reason}\n`);
    };
    if (!agent) return refuse(403, refusal ?? 'unknown_agent');
    if (!target) return refuse(400, 'bad_request');
    const checked = await this.#check(agent, target.host, target.port);
    if ('reason' in checked) return refuse(403, checked.reason);

    const plain: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      plain[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const { headers, swapped } = swapPlaceholders(plain, target, agent.bindings);
    event.swapped = swapped.length;
    const tls = this.#tlsPorts.has(target.port);
    headers.host = target.port === (tls ? 443 : 80) ? target.host : `${target.host}:${target.port}`;
    const family = isIP(checked.address) === 6 ? 6 : 4;
    // The connection goes to the address checked above, never to a second lookup of the name.
    const pinned: LookupFunction = (_host, options, callback) => {
      if (options.all)
        (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: checked.address, family }]);
      else callback(null, checked.address, family);
    };
    const send = tls ? httpsRequest : httpRequest;
    const upstream = send({
      host: target.host,
      port: target.port,
      method: request.method,
      path: target.path,
      headers,
      lookup: pinned,
      agent: tls ? this.#httpsAgent : this.#httpAgent,
      ...(tls ? { servername: target.host } : {}),
    });
    upstream.on('error', () => refuse(502, 'upstream_error'));
    upstream.on('response', (answer) => {
      const back: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) back[name] = value;
      response.writeHead(answer.statusCode ?? 502, back);
      answer.on('data', (chunk: Buffer) => {
        event.bytesIn += chunk.length;
      });
      answer.pipe(response);
      answer.once('end', () => this.#emit({ ...event, outcome: 'allowed' }));
    });
    request.on('data', (chunk: Buffer) => {
      event.bytesOut += chunk.length;
    });
    request.pipe(upstream);
  }

  #emit(event: EgressEvent): void {
    try {
      this.#onEvent(event);
    } catch (error) {
      this.#log.error({ err: error, agentId: event.agentId }, 'egress event sink failed');
    }
  }
}

function normaliseAddress(address: string): string {
  return address.replace(/^::ffff:/i, '');
}

function blockListOf(cidrs: readonly string[]): BlockList | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    const family = isIP(network ?? '');
    if (!network || family === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) throw new Error(`not a CIDR range: ${cidr}`);
    list.addSubnet(network, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** `host:port` of a CONNECT (`[v6]:port` too, so that an IP literal reaches the policy and is refused there). */
function parseAuthority(authority: string): { host: string; port: number } | null {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(authority);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { host: match[1], port };
}

/** The destination of a plain-HTTP request: absolute-form `http://host[:port]/path`, else the Host header and the path. */
function parseTarget(request: IncomingMessage): { host: string; port: number; path: string } | null {
  const raw = request.url ?? '';
  try {
    const url = raw.startsWith('/') ? new URL(raw, `http://${request.headers.host ?? 'invalid.'}`) : new URL(raw);
    if (url.protocol !== 'http:' || url.username || url.password) return null;
    const host = url.hostname;
    const port = url.port ? Number(url.port) : 80;
    if (!host) return null;
    return { host, port, path: `${url.pathname}${url.search}` };
  } catch {
    return null;
  }
}
