/**
 * Metrics.clientAppLabels: the app and version a trusted document was published as, as label values
 * of fleetgate_operation_duration_seconds, with a bound on how many pairs ever become series.
 */
import { expect, test } from 'vitest';
import { Metrics } from '../src/shared/metrics.ts';

test('each published app and version is its own label pair, the same object every time', () => {
  const metrics = new Metrics({ processMetrics: false });
  const first = metrics.clientAppLabels('web', '1.4.0');
  expect(first).toEqual({ app: 'web', version: '1.4.0' });
  expect(metrics.clientAppLabels('web', '1.4.0')).toBe(first);
  expect(metrics.clientAppLabels('web', '1.5.0')).toEqual({ app: 'web', version: '1.5.0' });
  expect(metrics.clientAppLabels('cli', '1.4.0')).toEqual({ app: 'cli', version: '1.4.0' });
});

test('past 200 pairs every new one is counted as other, and those seen before keep their labels', () => {
  const metrics = new Metrics({ processMetrics: false });
  for (let i = 0; i < 200; i++) expect(metrics.clientAppLabels(`app-${i % 7}`, `1.0.${i}`).version).toBe(`1.0.${i}`);
  expect(metrics.clientAppLabels('app-new', '9.9.9')).toEqual({ app: 'other', version: 'other' });
  expect(metrics.clientAppLabels('app-0', '2.0.0')).toEqual({ app: 'other', version: 'other' });
  expect(metrics.clientAppLabels('app-3', '1.0.3')).toEqual({ app: 'app-3', version: '1.0.3' });
});
