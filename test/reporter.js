// Mocha's spec reporter plus a closing line CI reads: "tests: N passed, N failed, N skipped". When
// FACEINV_TEST_SUMMARY names a file, the counts are also appended to it (with the suite's name from
// FACEINV_TEST_SUITE), so test/runAll.js can total them per suite. When FACEINV_TEST_PROGRESS names a file,
// the test now running is written to it.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_BEGIN } = Mocha.Runner.constants;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    // The test now running, for test/runAll.js to name when the process dies without reaching the end.
    const progress = process.env.FACEINV_TEST_PROGRESS;
    if (progress) runner.on(EVENT_TEST_BEGIN, (test) => fs.writeFileSync(progress, `${test.file ? `${require('node:path').basename(test.file)}: ` : ''}${test.fullTitle()}\n`));
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const counts = { passed: s.passes || 0, failed: s.failures || 0, skipped: s.pending || 0 };
      process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
      if (process.env.FACEINV_TEST_SUMMARY) fs.appendFileSync(process.env.FACEINV_TEST_SUMMARY, `${JSON.stringify({ suite: process.env.FACEINV_TEST_SUITE, ...counts })}\n`);
    });
  }
}
module.exports = SpecWithSummary;
