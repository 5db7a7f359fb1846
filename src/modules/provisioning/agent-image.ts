import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import type { ImageBuild } from './container-runtime.ts';

/** What tenants name in `createAgent(image:)` to get the reference runtime. */
export const REFERENCE_IMAGE = 'fleetgate/agent:1';

const AGENT_DIR = fileURLToPath(new URL('../../../docker/agent/', import.meta.url));
const BUSYBOX_CANDIDATES = ['/usr/bin/busybox', '/bin/busybox'];
/** Applets the agent script and the isolation tests use; each is a symlink to busybox. */
const APPLETS = [
  'sh',
  'awk',
  'base64',
  'cat',
  'cut',
  'dd',
  'echo',
  'env',
  'grep',
  'head',
  'id',
  'ip',
  'kill',
  'ls',
  'mkdir',
  'nc',
  'ps',
  'rm',
  'seq',
  'sleep',
  'stat',
  'tail',
  'touch',
  'true',
  'wc',
  'yes',
  'find',
  'mount',
  'hostname',
  'timeout',
];

export interface ReferenceImage {
  /** `fleetgate/agent:<first 16 hex of the content hash>`: a change to any input is a new tag, the same input builds once. */
  tag: string;
  build: ImageBuild;
}

/**
 * The reference agent image, built locally from busybox-static (no registry is needed): a root
 * filesystem tar with busybox, its applet links, the agent script, a workspace owned by the agent's
 * user, and a Dockerfile that ADDs it to `scratch`.
 */
export async function referenceImage(busyboxPath = BUSYBOX_CANDIDATES.find((path) => existsSync(path))): Promise<ReferenceImage> {
  if (!busyboxPath) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  const [busybox, script, dockerfile, bootstrap] = await Promise.all([
    readFile(busyboxPath),
    readFile(`${AGENT_DIR}agent.sh`),
    readFile(`${AGENT_DIR}Dockerfile`),
    readFile(`${AGENT_DIR}bootstrap.sh`),
  ]);
  const hash = createHash('sha256');
  for (const part of [busybox, script, dockerfile, bootstrap, Buffer.from(APPLETS.join(','))]) hash.update(part).update('\0');
  const tag = `fleetgate/agent:${hash.digest('hex').slice(0, 16)}`;
  return {
    tag,
    build: {
      context: async () => {
        const rootfs = await packTar((pack) => {
          const dir = (name: string, mode: number, uid = 0) => pack.entry({ name, type: 'directory', mode, uid, gid: uid, mtime: EPOCH });
          for (const name of ['bin', 'dev', 'etc', 'proc', 'sys', 'run', 'run/fleetgate']) dir(name, 0o755);
          dir('tmp', 0o1777);
          dir('workspace', 0o700, 65534);
          pack.entry({ name: 'bin/busybox', mode: 0o755, mtime: EPOCH }, busybox);
          for (const applet of APPLETS) pack.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mtime: EPOCH });
          pack.entry({ name: 'bin/agent', mode: 0o755, mtime: EPOCH }, script);
          pack.entry({ name: 'bin/bootstrap', mode: 0o755, mtime: EPOCH }, bootstrap);
          pack.entry(
            { name: 'etc/passwd', mode: 0o644, mtime: EPOCH },
            'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/workspace:/bin/sh\n',
          );
          pack.entry({ name: 'etc/group', mode: 0o644, mtime: EPOCH }, 'root:x:0:\nnogroup:x:65534:\n');
        });
        return packTar((pack) => {
          pack.entry({ name: 'Dockerfile', mode: 0o644, mtime: EPOCH }, dockerfile);
          pack.entry({ name: 'rootfs.tar', mode: 0o644, mtime: EPOCH }, rootfs);
        });
      },
    },
  };
}

const EPOCH = new Date(0);

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
