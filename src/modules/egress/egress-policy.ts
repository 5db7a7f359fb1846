import { BlockList, isIP } from 'node:net';
import type { Secret } from '../../shared/secret.ts';

/**
 * The egress proxy's rules (issue 21), the part that decides; the proxy server that applies them is
 * not built yet (docs/security-model.md, Egress). An egress agent's only route will be the gateway's
 * proxy: it names a host and port, the proxy checks them here, resolves the name itself (the agent
 * has no resolver), checks every address, connects to a checked address, and swaps credential
 * placeholders in the outgoing headers for the hosts each credential is bound to.
 */

/** One allowed destination: an exact host name or `*.` and a domain (any name below it, not the domain itself), and a port. */
export interface EgressRule {
  host: string;
  port: number;
}

export type EgressRefusal = 'bad_host' | 'ip_literal' | 'not_allowed' | 'private_address' | 'no_address';
export type EgressDecision = { allowed: true } | { allowed: false; reason: EgressRefusal };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A rule from its text form `host:port` (`api.example.com:443`, `*.example.com:443`). IP literals
 * are never rules: an allow-list names hosts, and the proxy refuses addresses the agent picks.
 */
export function parseEgressRule(text: string): EgressRule {
  const match = /^(.+):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`egress rule "${text}": expected host:port`);
  const host = normaliseHost(match[1]);
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (asIpLiteral(name) !== null) throw new Error(`egress rule "${text}": IP addresses are not allowed, name the host`);
  if (!isHostName(name) || !name.includes('.')) throw new Error(`egress rule "${text}": not a host name`);
  return { host, port };
}

/**
 * What the proxy may do with a request for `host:port`, before any DNS lookup: refused when the host
 * is not a name (an IP literal in any spelling the URL parser accepts: `127.1`, `0x7f.0.0.1`,
 * `2130706433`, `[::1]`) or no rule allows it.
 */
export function checkDestination(rawHost: string, port: number, rules: readonly EgressRule[]): EgressDecision {
  const host = normaliseHost(rawHost);
  if (asIpLiteral(host) !== null) return { allowed: false, reason: 'ip_literal' };
  if (!isHostName(host)) return { allowed: false, reason: 'bad_host' };
  return rules.some((rule) => matchesRule(host, port, rule)) ? { allowed: true } : { allowed: false, reason: 'not_allowed' };
}

/**
 * After the proxy's own lookup: every address must be public. One private, loopback or link-local
 * address among them refuses the whole name (a name pointing both ways is a rebinding attempt), and
 * the proxy connects only to an address checked here, never resolving again.
 */
export function checkResolved(addresses: readonly string[]): EgressDecision {
  if (addresses.length === 0) return { allowed: false, reason: 'no_address' };
  return addresses.every(isPublicAddress) ? { allowed: true } : { allowed: false, reason: 'private_address' };
}

export function matchesRule(host: string, port: number, rule: EgressRule): boolean {
  if (rule.port !== port) return false;
  if (rule.host.startsWith('*.')) return host.endsWith(rule.host.slice(1)) && host.length > rule.host.length - 1;
  return host === rule.host;
}

const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** Private, loopback, link-local, shared, documentation, multicast and reserved ranges are not public; IPv4-mapped IPv6 is judged by its IPv4. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  return !NOT_PUBLIC.check(address, 'ipv6');
}

/** The placeholder an agent holds for a swapped credential: not secret, unique per credential. */
export function placeholderOf(credentialId: string): string {
  return `fgs_ph_${credentialId.replaceAll('-', '')}`;
}

/** A credential the agent knows only by its placeholder, and the hosts the real value may be sent to. */
export interface PlaceholderBinding {
  /** `fgs_ph_<credential id>`: what the agent puts where the secret would go. */
  placeholder: string;
  value: Secret;
  hosts: readonly EgressRule[];
}

/**
 * The outgoing request's headers with each placeholder replaced by its real value, for a destination
 * the binding names; elsewhere the placeholder goes out as it is (worthless). Only headers: a body
 * is never rewritten. Returns the placeholders swapped, for the audit (never the values).
 */
export function swapPlaceholders(
  headers: Readonly<Record<string, string>>,
  destination: { host: string; port: number },
  bindings: readonly PlaceholderBinding[],
): { headers: Record<string, string>; swapped: string[] } {
  const host = normaliseHost(destination.host);
  const usable = bindings.filter((binding) => binding.hosts.some((rule) => matchesRule(host, destination.port, rule)));
  const swapped = new Set<string>();
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    let next = value;
    for (const binding of usable) {
      if (!next.includes(binding.placeholder)) continue;
      next = next.split(binding.placeholder).join(binding.value.reveal());
      swapped.add(binding.placeholder);
    }
    out[name] = next;
  }
  return { headers: out, swapped: [...swapped] };
}

function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

function isHostName(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

/** The address a host string means to a URL parser (and so to most HTTP clients), or null for a name. */
function asIpLiteral(host: string): string | null {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare;
  try {
    const parsed = new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}/`).hostname.replace(/^\[|\]$/g, '');
    return isIP(parsed) ? parsed : null;
  } catch {
    return null;
  }
}
