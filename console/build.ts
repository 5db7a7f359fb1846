import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { manifestVersion } from '../src/shared/manifest-version.ts';
import manifest from './src/gql/persisted-documents.json' with { type: 'json' };

/**
 * Builds the console into console/dist (committed: `npm start` serves it with no build step, and
 * `npm test` rebuilds it and fails when the committed copy differs). One script and one stylesheet,
 * named by their content's hash and pinned in index.html with Subresource Integrity.
 */
export async function buildConsole(outdir = fileURLToPath(new URL('dist/', import.meta.url))): Promise<string[]> {
  const source = fileURLToPath(new URL('src/', import.meta.url));
  await rm(outdir, { recursive: true, force: true });
  await mkdir(`${outdir}/assets`, { recursive: true });
  const result = await build({
    entryPoints: { app: `${source}main.tsx` },
    outdir: `${outdir}/assets`,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
    // The version the gateway publishes this build's operations as: the operator view never offers to retire it.
    define: { __CONSOLE_VERSION__: JSON.stringify(manifestVersion(manifest)) },
  });
  const outputs = Object.keys(result.metafile.outputs);
  const named = (extension: string) => {
    const file = outputs.find((output) => output.endsWith(extension));
    if (!file) throw new Error(`no ${extension} output`);
    return file;
  };
  const [js, css] = [named('.js'), named('.css')];
  const html = (await readFile(`${source}index.html`, 'utf8'))
    .replace('%JS%', `assets/${basename(js)}`)
    .replace('%CSS%', `assets/${basename(css)}`)
    .replace('%JS_SRI%', await integrity(js))
    .replace('%CSS_SRI%', await integrity(css));
  await writeFile(`${outdir}/index.html`, html);
  return ['index.html', `assets/${basename(js)}`, `assets/${basename(css)}`];
}

async function integrity(file: string): Promise<string> {
  return `sha384-${createHash('sha384')
    .update(await readFile(file))
    .digest('base64')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildConsole();
  process.stdout.write(`console built: ${files.join(', ')}\n`);
}
