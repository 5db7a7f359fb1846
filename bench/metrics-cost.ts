/**
 * What the metrics cost per request, in CPU: the calls useObservability makes for one operation and
 * its HTTP request (operation name check and bounding, two histogram observations, a counter, the
 * endpoint lookup), repeated many times, and one scrape of a registry that has seen them. Prints µs
 * per request; compare with a request's whole CPU (about 1,066 µs for `agents(first: 20)` in the
 * profile of /work/shared/FIELD-NOTES.md). A bound, not the on/off comparison of one gateway run.
 */
import { getOperationAST, parse } from 'graphql';
import { Metrics } from '../src/shared/metrics.ts';

const metrics = new Metrics();
const document = parse('query Agents($first: Int) { agents(first: $first) { edges { node { id name status } } } }');
const url = 'http://127.0.0.1:4000/graphql';
const ENDPOINTS: Record<string, string> = { '/graphql': 'graphql' };

function oneRequest(i: number) {
  const operation = getOperationAST(document, 'Agents');
  metrics.operationDuration.observe(
    {
      operation_type: operation?.operation ?? 'unknown',
      operation_name: metrics.operationLabel('Agents'),
      outcome: i % 50 ? 'ok' : 'error',
    },
    0.0008 + (i % 7) * 0.0003,
  );
  metrics.operations.inc({ outcome: i % 50 ? 'ok' : 'error' });
  const endpoint = ENDPOINTS[new URL(url).pathname] ?? 'other';
  metrics.httpDuration.observe({ endpoint, status: '200' }, 0.001 + (i % 5) * 0.0004);
}

const iterations = 300_000;
for (let i = 0; i < 50_000; i++) oneRequest(i); // warm-up
const before = process.cpuUsage();
for (let i = 0; i < iterations; i++) oneRequest(i);
const used = process.cpuUsage(before);
const perRequest = (used.user + used.system) / iterations;

const scrapes = 50;
const scrapeBefore = process.cpuUsage();
for (let i = 0; i < scrapes; i++) await metrics.registry.metrics();
const scrapeUsed = process.cpuUsage(scrapeBefore);
const perScrape = (scrapeUsed.user + scrapeUsed.system) / scrapes;

const reference = 1_066;
process.stdout.write(
  `metrics per request: ${perRequest.toFixed(2)} µs CPU (${((perRequest / reference) * 100).toFixed(2)} % of a ${reference} µs request)\n` +
    `one scrape: ${(perScrape / 1000).toFixed(2)} ms CPU; one every 15 s is ${(perScrape / 15).toFixed(0)} µs of CPU per second (${(perScrape / 15 / 10_000).toFixed(3)} % of a core)\n`,
);
