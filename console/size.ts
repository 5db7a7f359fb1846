import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/**
 * `npm run console:size`: what a first visit to /console downloads (index.html, the script, the
 * stylesheet), raw and compressed as the gateway serves it (gzip), against the 200 KB budget.
 * Exits 1 over budget.
 */
const BUDGET_BYTES = 200 * 1024;
const dist = fileURLToPath(new URL('dist/', import.meta.url));
const html = await readFile(join(dist, 'index.html'), 'utf8');
const files = ['index.html', ...[...html.matchAll(/\/console\/(assets\/[^"]+)"/g)].map((match) => match[1] as string)];
let total = 0;
for (const file of files) {
  const body = await readFile(join(dist, file));
  const gzip = gzipSync(body, { level: 9 }).length;
  total += gzip;
  process.stdout.write(
    `${file.padEnd(32)} ${kb(body.length).padStart(9)} raw ${kb(gzip).padStart(9)} gzip ${kb(brotliCompressSync(body).length).padStart(9)} brotli\n`,
  );
}
process.stdout.write(`first load: ${kb(total)} compressed (gzip), budget ${kb(BUDGET_BYTES)}\n`);
if (total > BUDGET_BYTES) process.exit(1);

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
