// Jest reporter: ends the run with one line naming what was skipped for a missing server binary, why, and the
// install command (see test/support/requires.ts). Silent when nothing was skipped.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export default class SkipReporter {
  onRunComplete(_contexts, results) {
    const log = process.env.NTI_SKIP_LOG;
    if (!log || !existsSync(log)) return;
    const records = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    rmSync(dirname(log), { recursive: true, force: true });
    const byBinary = new Map();
    for (const { binary, install, file } of records) {
      const entry = byBinary.get(binary) ?? { install, files: new Set() };
      entry.files.add(file);
      byBinary.set(binary, entry);
    }
    for (const [binary, { install, files }] of byBinary) {
      const skipped = results.testResults.filter((suite) => files.has(suite.testFilePath)).reduce((sum, suite) => sum + suite.numPendingTests, 0);
      process.stderr.write(
        `\nSKIPPED ${skipped} tests in ${files.size} suites: ${binary} not found on this machine. ` +
          `Install it (${install}) and run npm test again; with CI=true these tests fail instead.\n`,
      );
    }
  }
}
