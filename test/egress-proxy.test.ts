import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { REFERENCE_IMAGE } from '../src/modules/provisioning/agent-image.ts';
import { DockerRuntime } from '../src/modules/provisioning/docker-runtime.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { adminQuery } from './support/database.ts';
import { containerOf, docker, execIn, waitFor } from './support/docker.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentLogs, AgentRuntimeState, AuditLog } from './support/operations.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

/**
 * The egress proxy (issue 21) against real servers on a Docker network of the test's own: two busybox
 * HTTP servers that log every request head they receive and answer with the sha256 of the Authorization
 * header. The agents are reference agents on their tenants' internal networks; everything they send
 * goes through the proxy in the gateway, with curl-less busybox `nc` speaking HTTP by hand.
 */
const CreateEgressAgent = graphql(`
  mutation CreateEgressAgentWithRules($input: CreateAgentInput!) {
    createAgent(input: $input) { agent { id status egress egressRules } }
  }
`);
const UpdateEgressRules = graphql(`
  mutation UpdateEgressRules($id: ID!, $rules: [String!]) {
    updateAgent(input: { id: $id, egressRules: $rules }) { agent { id egressRules } }
  }
`);
const ReadEgressRules = graphql(`
  query ReadEgressRules($id: ID!) { agent(id: $id) { id egress egressRules } }
`);
const ListEgressRules = graphql(`
  query ListEgressRules { agents(first: 20) { edges { node { id egressRules } } } }
`);
const SetSwappedCredential = graphql(`
  mutation SetSwappedCredential($agentId: ID!, $name: String!, $value: CredentialValue!, $hosts: [String!]) {
    setCredential(agentId: $agentId, name: $name, value: $value, egressHosts: $hosts) {
      credential { name egressHosts placeholder }
    }
  }
`);

const UPSTREAM_IMAGE = 'fleetgate-test/egress-upstream:1';
const SECRET = `sk-live-${Math.random().toString(36).slice(2)}${Date.now()}`;
const SECRET_FORMS = [SECRET, Buffer.from(SECRET).toString('base64'), Buffer.from(SECRET).toString('hex')];

let gw: Gateway;
let upstreamNetwork = '';
const upstreams: Record<'api' | 'plain', { container: string; address: string }> = {
  api: { container: '', address: '' },
  plain: { container: '', address: '' },
};
/** The proxy's resolver in this test: the test's own names for its upstreams (the host's DNS knows nothing of them). */
const names = new Map<string, string[]>();
let tenantA: { token: string; viewer: string; member: string };
let tenantB: { token: string };
let agentA = '';
let agentB = '';
let placeholder = '';
let tenantIds = { a: '', b: '' };

/** The upstream server: busybox `nc -ll -e`, one shell script per request; built FROM scratch like the reference agent image. */
async function buildUpstreamImage(): Promise<void> {
  const busybox = await readFile('/usr/bin/busybox').catch(() => readFile('/bin/busybox'));
  const script = [
    '#!/bin/sh',
    "auth=''",
    'while IFS= read -r line; do',
    "  line=$(printf '%s' \"$line\" | tr -d '\\r')",
    '  [ -z "$line" ] && break',
    '  echo "$NAME received: $line" >/proc/1/fd/1',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template
    '  case "$line" in [Aa]uthorization:*) auth=${line#*: } ;; esac',
    'done',
    'body="server=$NAME auth-sha256=$(printf \'%s\' "$auth" | sha256sum | cut -c1-64)"',
    'printf \'HTTP/1.1 200 OK\\r\\ncontent-type: text/plain\\r\\ncontent-length: %s\\r\\nconnection: close\\r\\n\\r\\n%s\' "$(printf \'%s\' "$body" | wc -c)" "$body"',
    '',
  ].join('\n');
  const context = await packTar((pack) => {
    pack.entry({ name: 'Dockerfile' }, 'FROM scratch\nCOPY bin/ /bin/\nCMD ["/bin/nc", "-ll", "-p", "80", "-e", "/bin/echo-http"]\n');
    pack.entry({ name: 'bin', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'bin/busybox', mode: 0o755 }, busybox);
    for (const applet of ['sh', 'nc', 'tr', 'sha256sum', 'cut', 'printf', 'wc', 'echo'])
      pack.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' });
    pack.entry({ name: 'bin/echo-http', mode: 0o755 }, script);
  });
  const stream = await docker.buildImage(Readable.from([context]), { t: UPSTREAM_IMAGE, rm: true });
  const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output ?? []))),
  );
  const failure = events.find((event) => event.error);
  if (failure) throw new Error(`upstream image: ${failure.error}`);
}

function packTar(fill: (pack: tar.Pack) => void): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (chunk: Buffer) => chunks.push(chunk));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
    fill(pack);
    pack.finalize();
  });
}

async function startUpstream(name: string): Promise<{ container: string; address: string }> {
  const container = await docker.createContainer({
    Image: UPSTREAM_IMAGE,
    name: `${upstreamNetwork}-${name}`,
    Env: [`NAME=${name}`],
    HostConfig: { NetworkMode: upstreamNetwork, ReadonlyRootfs: true, CapDrop: ['ALL'] },
  });
  await container.start();
  const info = await container.inspect();
  return { container: info.Id, address: info.NetworkSettings.Networks[upstreamNetwork]?.IPAddress ?? '' };
}

const upstreamLog = async (which: 'api' | 'plain') =>
  String(await docker.getContainer(upstreams[which].container).logs({ stdout: true, stderr: true }));

async function egressAgent(token: string, name: string, egressRules: string[]): Promise<string> {
  const { createAgent } = expectNoErrors(
    await gw.execute(CreateEgressAgent, { input: { name, image: REFERENCE_IMAGE, memoryMb: 32, egress: true, egressRules } }, { token }),
  );
  return createAgent.agent.id;
}

async function running(token: string, id: string): Promise<void> {
  await waitFor(
    async () => expectNoErrors(await gw.execute(AgentRuntimeState, { id }, { token })).agent.status,
    (status) => status === 'RUNNING',
    60_000,
  );
  // The entrypoint has taken its start secrets once PID 1 is the agent itself.
  await waitFor(
    async () => (await execIn(id, ['cat', '/proc/1/cmdline'])).output,
    (cmdline) => cmdline.includes('/bin/agent') && !cmdline.includes('/bin/bootstrap'),
  );
}

/**
 * What the agent gets back when it sends `request` to `proxy` (default: its own HTTP_PROXY) with nc.
 * `request` is printf format: `\r\n` line ends.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the agent's own HTTP_PROXY, expanded by its shell
async function send(agentId: string, request: string, proxy = '${HTTP_PROXY#http://}'): Promise<string> {
  const script = `target=${proxy}; printf '${request}' | nc -w 5 "\${target%:*}" "\${target##*:}"; echo "<exit $?>"`;
  return (await execIn(agentId, ['sh', '-c', script])).output;
}

const get = (url: string, host: string, auth?: string) =>
  `GET ${url} HTTP/1.1\\r\\nHost: ${host}\\r\\n${auth ? `Authorization: ${auth}\\r\\n` : ''}Connection: close\\r\\n\\r\\n`;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  await docker.ping();
  await buildUpstreamImage();
  upstreamNetwork = `fleetgate-test-upstreams-${Math.random().toString(36).slice(2, 8)}`;
  await docker.createNetwork({ Name: upstreamNetwork, Driver: 'bridge', CheckDuplicate: true });
  upstreams.api = await startUpstream('api');
  upstreams.plain = await startUpstream('plain');
  names.set('api.allowed.test', [upstreams.api.address]);
  names.set('plain.allowed.test', [upstreams.plain.address]);
  names.set('other.test', [upstreams.plain.address]);
  const subnet = (await docker.getNetwork(upstreamNetwork).inspect()).IPAM?.Config?.[0]?.Subnet;
  if (!subnet) throw new Error('the upstream network has no subnet');

  gw = await startGateway({
    runtime: {
      egress: {
        port: 3128,
        // DANGEROUS outside tests: the test's upstreams have private addresses, and only they are let through.
        allowPrivateCidrs: [subnet],
        resolve: async (host) => {
          const found = names.get(host);
          if (!found) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
          return found;
        },
        burstThreshold: 6,
        flushMs: 50,
      },
    },
  });
  const a = await gw.seed.tenant('egress-proxy-a');
  const b = await gw.seed.tenant('egress-proxy-b');
  tenantA = { token: a.ownerToken, viewer: (await a.member('VIEWER')).token, member: (await a.member('MEMBER')).token };
  tenantB = { token: b.ownerToken };
  agentA = await egressAgent(a.ownerToken, 'a', ['api.allowed.test:80', '*.allowed.test:80']);
  agentB = await egressAgent(b.ownerToken, 'b', ['plain.allowed.test:80']);
  const { setCredential } = expectNoErrors(
    await gw.execute(
      SetSwappedCredential,
      { agentId: agentA, name: 'API_KEY', value: SECRET, hosts: ['api.allowed.test:80'] },
      { token: a.ownerToken },
    ),
  );
  expect(setCredential.credential.egressHosts).toEqual(['api.allowed.test:80']);
  placeholder = setCredential.credential.placeholder ?? '';
  expect(placeholder).toMatch(/^fgs_ph_[0-9a-f]{32}$/);
  tenantIds = { a: decodeGlobalId(a.id).id, b: decodeGlobalId(b.id).id };
  // setCredential queued a restart: wait until the agents' jobs are done, then for their processes.
  await waitFor(
    async () =>
      (
        await adminQuery<{ n: number }>(
          gw.database.adminUrl,
          "select count(*)::int as n from jobs where agent_id = any($1::uuid[]) and status in ('QUEUED', 'RUNNING')",
          [[agentA, agentB].map((id) => decodeGlobalId(id).id)],
        )
      ).rows[0]?.n,
    (n) => n === 0,
    90_000,
  );
  await Promise.all([running(a.ownerToken, agentA), running(b.ownerToken, agentB)]);
});

afterAll(async () => {
  await gw?.close();
  for (const { container } of Object.values(upstreams)) if (container) await docker.getContainer(container).remove({ force: true });
  if (upstreamNetwork) await docker.getNetwork(upstreamNetwork).remove();
});

async function processEnv(agentId: string): Promise<Record<string, string>> {
  const { output } = await execIn(agentId, ['cat', '/proc/1/environ']);
  return Object.fromEntries(
    output
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

describe('the route: an egress agent reaches the proxy and nothing else', () => {
  test('its tenant network is internal; its environment names the proxy at the bridge gateway; the upstreams are out of reach directly', async () => {
    const info = await containerOf(agentA).inspect();
    const network = info.HostConfig.NetworkMode ?? '';
    expect(network).toBe(DockerRuntime.networkName(gw.database.name, tenantIds.a));
    const inspected = await docker.getNetwork(network).inspect();
    expect(inspected.Internal).toBe(true);
    const gateway = inspected.IPAM?.Config?.[0]?.Gateway;
    expect(info.Config.Env).toEqual(expect.arrayContaining([`HTTP_PROXY=http://${gateway}:3128`, `https_proxy=http://${gateway}:3128`]));
    // No route out: the upstream's own address, from inside, answers nothing.
    const direct = (
      await execIn(agentA, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${upstreams.api.address} 80; echo "<exit $?>"`])
    ).output;
    expect(direct).not.toContain('HTTP/1.1 200');
    expect(direct).toContain('<exit 1>');
  });
});

describe('the proxy', () => {
  test('an allowed host is reached, with the real secret put in place of the placeholder on the way out', async () => {
    const answer = await send(agentA, get('http://api.allowed.test/v1/echo', 'api.allowed.test', `Bearer ${placeholder}`));
    expect(answer).toContain('HTTP/1.1 200 OK');
    expect(answer).toContain('server=api');
    // The upstream received the real value (its own log says so; the agent only sees its hash).
    expect(answer).toContain(`auth-sha256=${sha256(`Bearer ${SECRET}`)}`);
    expect(await upstreamLog('api')).toContain(`api received: authorization: Bearer ${SECRET}`);
    expect(await upstreamLog('api')).toContain('api received: host: api.allowed.test');
  });

  test('the placeholder goes out as it is to an allowed host the credential is not bound to', async () => {
    const answer = await send(agentA, get('http://plain.allowed.test/', 'plain.allowed.test', `Bearer ${placeholder}`));
    expect(answer).toContain('server=plain');
    expect(answer).toContain(`auth-sha256=${sha256(`Bearer ${placeholder}`)}`);
    expect(await upstreamLog('plain')).not.toContain(SECRET);
  });

  test('a CONNECT tunnel to an allowed host passes bytes through, and swaps nothing inside it', async () => {
    const tunnel = `CONNECT api.allowed.test:80 HTTP/1.1\\r\\nHost: api.allowed.test:80\\r\\n\\r\\n${get('/tunnel', 'api.allowed.test', `Bearer ${placeholder}`)}`;
    const answer = await send(agentA, tunnel);
    expect(answer).toContain('HTTP/1.1 200 Connection Established');
    expect(answer).toContain(`auth-sha256=${sha256(`Bearer ${placeholder}`)}`);
  });

  test('a host outside the allow-list is refused, by name and through a tunnel, and never contacted', async () => {
    const before = await upstreamLog('plain');
    const plain = await send(agentA, get('http://other.test/', 'other.test', `Bearer ${placeholder}`));
    expect(plain).toContain('HTTP/1.1 403');
    expect(plain).toContain('x-fleetgate-egress: not_allowed');
    const tunnel = await send(agentA, 'CONNECT other.test:80 HTTP/1.1\\r\\nHost: other.test:80\\r\\n\\r\\n');
    expect(tunnel).toContain('HTTP/1.1 403');
    // An allowed name on a port the rule does not name.
    expect(await send(agentA, get('http://api.allowed.test:8080/', 'api.allowed.test:8080'))).toContain('x-fleetgate-egress: not_allowed');
    expect(await upstreamLog('plain')).toBe(before);
  });

  test('IP literals are refused in every spelling, even the allowed upstream’s own address', async () => {
    const [a, b, c, d] = upstreams.api.address.split('.').map(Number) as [number, number, number, number];
    const decimal = String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d);
    for (const host of [upstreams.api.address, decimal, `0x${a.toString(16)}.${b}.${c}.${d}`, '127.1', '[::1]']) {
      const answer = await send(agentA, get(`http://${host}/`, host));
      expect(answer, host).toContain('x-fleetgate-egress: ip_literal');
    }
    const tunnel = await send(agentA, `CONNECT ${upstreams.api.address}:80 HTTP/1.1\\r\\n\\r\\n`);
    expect(tunnel).toContain('x-fleetgate-egress: ip_literal');
  });

  test('a name that resolves to a private address outside the operator’s ranges is refused after the lookup', async () => {
    names.set('rebind.allowed.test', [upstreams.api.address, '10.0.0.1']);
    names.set('inside.allowed.test', ['127.0.0.1']);
    expect(await send(agentA, get('http://rebind.allowed.test/', 'rebind.allowed.test'))).toContain('x-fleetgate-egress: private_address');
    expect(await send(agentA, get('http://inside.allowed.test/', 'inside.allowed.test'))).toContain('x-fleetgate-egress: private_address');
    expect(await send(agentA, get('http://nowhere.allowed.test/', 'nowhere.allowed.test'))).toContain('x-fleetgate-egress: no_address');
  });

  test("tenant A's agent cannot use the proxy as tenant B's agent: B's listener refuses it, whatever it asks", async () => {
    const bNetwork = (await containerOf(agentB).inspect()).HostConfig.NetworkMode ?? '';
    const bGateway = (await docker.getNetwork(bNetwork).inspect()).IPAM?.Config?.[0]?.Gateway;
    expect(bGateway).toBeTruthy();
    // B's own agent goes through its listener.
    expect(await send(agentB, get('http://plain.allowed.test/', 'plain.allowed.test'))).toContain('server=plain');
    // A's agent reaches B's listener (the host answers on every bridge address) and is refused there.
    const answer = await send(agentA, get('http://plain.allowed.test/', 'plain.allowed.test'), `${bGateway}:3128`);
    expect(answer).toContain('HTTP/1.1 403');
    expect(answer).toContain('x-fleetgate-egress: foreign_listener');
    // Nothing the agent says changes who it is.
    const claimed = await send(
      agentA,
      `GET http://plain.allowed.test/ HTTP/1.1\\r\\nHost: plain.allowed.test\\r\\nX-Fleetgate-Agent: ${decodeGlobalId(agentB).id}\\r\\nProxy-Authorization: Basic Yjpi\\r\\nConnection: close\\r\\n\\r\\n`,
      `${bGateway}:3128`,
    );
    expect(claimed).toContain('x-fleetgate-egress: foreign_listener');
  });
});

describe('the secret stays out of the sandbox', () => {
  test('absent from the process environment, the container’s files, docker inspect, the container’s logs, the gateway’s logs and the audit log', async () => {
    // A request with the real value swapped in has gone out before this look (first test of the proxy).
    expect(await upstreamLog('api')).toContain(SECRET);
    const env = await processEnv(agentA);
    expect(env.API_KEY).toBe(placeholder);
    const where: Record<string, string> = {
      'the process environment': Object.entries(env).join('\n'),
      'docker inspect': JSON.stringify(await containerOf(agentA).inspect()),
      'the container’s files': (
        await execIn(agentA, ['sh', '-c', 'find /tmp /workspace /run /etc /bin -type f -exec cat {} + 2>/dev/null'], 30_000)
      ).output,
      'the container’s logs': String(await containerOf(agentA).logs({ stdout: true, stderr: true })),
      'the agent logs through the API': expectNoErrors(await gw.execute(AgentLogs, { id: agentA, tail: 1000 }, { token: tenantA.token }))
        .agent.logs,
      'the gateway’s logs': gw.logs(),
    };
    await gw.fleetgate.runtime?.egressEvents?.flush();
    where['the audit log'] = JSON.stringify(
      expectNoErrors(await gw.execute(AuditLog, { first: 100 }, { token: tenantA.token })).auditLog.edges.map((edge) => edge.node),
    );
    const info = await containerOf(agentA).inspect();
    const engineFiles = await filesUnder(`/var/lib/docker/containers/${info.Id}`);
    expect(engineFiles.some((file) => file.endsWith('config.v2.json'))).toBe(true);
    where['the engine’s files'] = (await Promise.all(engineFiles.map((file) => readFile(file, 'latin1')))).join('\n');
    for (const [place, text] of Object.entries(where)) {
      for (const form of SECRET_FORMS) expect(text.includes(form), `${place} holds the secret`).toBe(false);
    }
    expect(where['the container’s files']).toContain('Fleetgate reference agent'); // the look read the files at all
  });
});

describe('audit, metrics and the denial-burst alarm', () => {
  test('every connection is audited in the agent’s tenant with host, port, bytes and outcome; denials with their reason', async () => {
    await gw.fleetgate.runtime?.egressEvents?.flush();
    const events = expectNoErrors(
      await gw.execute(AuditLog, { first: 100, filter: { action: 'egress.http' } }, { token: tenantA.token }),
    ).auditLog.edges.map((edge) => edge.node);
    const allowed = events.find((event) => event.outcome === 'SUCCESS' && event.detail?.host === 'api.allowed.test');
    expect(allowed).toMatchObject({ actorType: 'AGENT', targetType: 'Agent', targetId: decodeGlobalId(agentA).id });
    expect(allowed?.detail).toMatchObject({ port: 80, swapped: 1 });
    expect(Number(allowed?.detail?.bytesIn)).toBeGreaterThan(0);
    expect(events.find((event) => event.outcome === 'DENIED' && event.detail?.host === 'other.test')?.detail).toMatchObject({
      reason: 'not_allowed',
      bytesIn: 0,
    });
    // A's attempt on B's listener is in A's log, never in B's.
    expect(events.some((event) => event.detail?.reason === 'foreign_listener')).toBe(true);
    const inB = expectNoErrors(await gw.execute(AuditLog, { first: 100 }, { token: tenantB.token })).auditLog.edges.map(
      (edge) => edge.node,
    );
    expect(inB.some((event) => event.detail?.reason === 'foreign_listener')).toBe(false);
    expect(inB.some((event) => event.action === 'egress.http' && event.outcome === 'SUCCESS')).toBe(true);

    const metrics = await gw.fleetgate.metrics.registry.getSingleMetricAsString('fleetgate_egress_connections_total');
    expect(metrics).toMatch(/fleetgate_egress_connections_total\{kind="http",outcome="allowed",reason="none"\} [1-9]/);
    expect(metrics).toMatch(/fleetgate_egress_connections_total\{kind="http",outcome="denied",reason="ip_literal"\} [1-9]/);
    expect(metrics).not.toContain('allowed.test');
  });

  test('a burst of denials raises the isolation alarm once per window, counted and audited', async () => {
    const bursts = async () => (await gw.fleetgate.metrics.egressDenialBursts.get()).values[0]?.value ?? 0;
    // Earlier tests already refused agent A more than the threshold (6): the alarm has been raised once.
    expect(await bursts()).toBe(1);
    for (let i = 0; i < 8; i++) await send(agentA, get('http://other.test/', 'other.test'));
    expect(await bursts()).toBe(1); // once per window, not once per denial
    await gw.fleetgate.runtime?.egressEvents?.flush();
    const alarms = expectNoErrors(
      await gw.execute(AuditLog, { first: 10, filter: { action: 'egress.denial_burst' } }, { token: tenantA.token }),
    ).auditLog.edges.map((edge) => edge.node);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ outcome: 'DENIED', targetId: decodeGlobalId(agentA).id });
  });
});

describe('the allow-list API', () => {
  test('viewers read it; members cannot set it; a bad rule is refused naming the rule; a change reaches the running proxy', async () => {
    const read = expectNoErrors(await gw.execute(ReadEgressRules, { id: agentA }, { token: tenantA.viewer })).agent;
    expect(read?.egressRules).toEqual(['api.allowed.test:80', '*.allowed.test:80']);
    // The list reads the column too (its one-round-trip path selects only the columns asked for).
    const listed = expectNoErrors(await gw.execute(ListEgressRules, {}, { token: tenantA.viewer })).agents.edges.map((edge) => edge.node);
    expect(listed).toEqual([{ id: agentA, egressRules: ['api.allowed.test:80', '*.allowed.test:80'] }]);
    expect(
      errorCodes(await gw.execute(UpdateEgressRules, { id: agentA, rules: ['x.example.com:443'] }, { token: tenantA.member })),
    ).toEqual(['FORBIDDEN']);
    for (const bad of ['10.0.0.1:80', 'api.allowed.test', 'api.allowed.test:0', '*.com:443', 'bad_name.test:80']) {
      const refused = await gw.execute(UpdateEgressRules, { id: agentA, rules: ['api.allowed.test:80', bad] }, { token: tenantA.token });
      expect(errorCodes(refused), bad).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0]?.message, bad).toContain(bad);
    }
    // The foreign tenant's owner does not see the agent at all.
    expect(errorCodes(await gw.execute(UpdateEgressRules, { id: agentA, rules: [] }, { token: tenantB.token }))).toEqual(['NOT_FOUND']);

    const narrowed = expectNoErrors(
      await gw.execute(UpdateEgressRules, { id: agentA, rules: ['API.Allowed.Test:80'] }, { token: tenantA.token }),
    );
    expect(narrowed.updateAgent.agent.egressRules).toEqual(['api.allowed.test:80']);
    // No restart: the converge re-admits the running agent with its new list.
    await waitFor(
      async () => await send(agentA, get('http://plain.allowed.test/', 'plain.allowed.test')),
      (answer) => answer.includes('x-fleetgate-egress: not_allowed'),
      30_000,
    );
    expect(await send(agentA, get('http://api.allowed.test/', 'api.allowed.test'))).toContain('server=api');
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile() && (await stat(path)).size < 50 * 1024 * 1024) out.push(path);
  }
  return out;
}
