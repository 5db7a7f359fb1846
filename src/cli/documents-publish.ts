import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PublishDocumentsDocument } from '../generated/operations/graphql.ts';

/**
 * Publishes a client app version from the client preset's persisted-documents output:
 *
 *   FLEETGATE_URL=https://gateway/graphql FLEETGATE_TOKEN=… \
 *     npm run documents:publish -- --app web --version 1.4.0 [--platform] persisted-documents.json
 *
 * It runs the gateway's own PublishDocuments operation by hash (the platform app `fleetgate`), so it
 * works against a production gateway. The token is an owner's or admin's (an operator's with
 * --platform); it is sent only as the Authorization header and never printed. The gateway checks
 * every document and refuses the whole manifest on any error, naming the operation.
 */
const usage = 'usage: npm run documents:publish -- --app <name> --version <version> [--platform] <persisted-documents.json>';
const { values, positionals } = parseArgs({
  options: { app: { type: 'string' }, version: { type: 'string' }, platform: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const url = process.env.FLEETGATE_URL ?? 'http://127.0.0.1:4000/graphql';
const token = process.env.FLEETGATE_TOKEN;
const [file] = positionals;
if (!values.app || !values.version || !file || positionals.length !== 1) fail(usage);
if (!token) fail('FLEETGATE_TOKEN is not set: an owner’s or admin’s access token (an operator’s for --platform)');

let documents: unknown;
try {
  documents = JSON.parse(await readFile(file as string, 'utf8'));
} catch (error) {
  fail(`${file}: not a readable JSON file (${(error as Error).message})`);
}
if (typeof documents !== 'object' || documents === null || Array.isArray(documents)) {
  fail(`${file}: expected the client preset's persisted-documents output, an object {"sha256:<hex>": "<document>"}`);
}

const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-graphql-client-name': 'fleetgate' },
  body: JSON.stringify({
    documentId: (PublishDocumentsDocument as { __meta__?: { hash?: string } }).__meta__?.hash,
    variables: { input: { app: values.app, version: values.version, platform: values.platform, documents } },
  }),
}).catch((error: unknown) => fail(`${url}: ${(error as Error).message}`));
const body = (await response.json().catch(() => ({}))) as {
  data?: { publishDocuments?: { app: { versions: { version: string; documentCount: number }[] } } } | null;
  errors?: { message: string; extensions?: { code?: string; invalidOperations?: { operation: string; hash: string; reason: string }[] } }[];
};
if (body.errors?.length) {
  for (const error of body.errors) {
    process.stderr.write(`refused (${error.extensions?.code ?? response.status}): ${error.message}\n`);
    for (const each of error.extensions?.invalidOperations?.slice(1) ?? []) {
      process.stderr.write(`  also: operation ${each.operation} (${each.hash}): ${each.reason}\n`);
    }
  }
  process.exit(1);
}
const published = body.data?.publishDocuments?.app.versions.find((each) => each.version === values.version);
if (!published) fail(`unexpected answer (HTTP ${response.status})`);
process.stdout.write(
  `${values.app} ${values.version}: ${published.documentCount} operation${published.documentCount === 1 ? '' : 's'} published\n`,
);

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
