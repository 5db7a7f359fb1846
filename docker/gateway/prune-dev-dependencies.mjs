// Removes the packages package-lock.json marks as development-only ("dev": true) from
// <app>/node_modules: `npm prune --omit=dev` without npm or a registry (the build stage may run on a
// base that has only node). Usage: node prune-dev-dependencies.mjs <app directory>
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const app = process.argv[2] ?? '.';
const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
if (lock.lockfileVersion < 2) throw new Error('package-lock.json v2 or later is needed');
let removed = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (!path.startsWith('node_modules/') || entry.dev !== true) continue;
  rmSync(join(app, path), { recursive: true, force: true });
  removed++;
}
process.stdout.write(`pruned ${removed} development packages\n`);
