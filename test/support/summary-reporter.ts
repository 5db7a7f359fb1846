import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI can read. A file
 * that failed outside its tests (a hook or its import threw) marks its tests skipped, not failed;
 * the line then names those files too, so it never reads "0 failed" on a red run.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const brokenFiles: string[] = [];
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') failedTests++;
        else counts.skipped++;
      }
      counts.failed += failedTests;
      if (module.state() === 'failed' && failedTests === 0) brokenFiles.push(module.relativeModuleId);
    }
    const files = brokenFiles.length === 1 ? 'file' : 'files';
    const broken = brokenFiles.length ? `, ${brokenFiles.length} ${files} failed outside their tests (${brokenFiles.join(', ')})` : '';
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${broken}\n`);
  }
}
