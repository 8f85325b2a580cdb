// Jest reporter: the test inventory. With TEST_INVENTORY=check (set by `npm test`, which runs every suite), the run
// fails when a test of test/inventory/tests.txt no longer exists (the multiset of full names may only grow; a
// retitle changes the list in the same commit, with its old -> new pairs in test/inventory/retitles.tsv).
// TEST_INVENTORY=update rewrites the list from this run (run it with redis-server installed, on the whole tree).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LIST = fileURLToPath(new URL('../inventory/tests.txt', import.meta.url));

export default class InventoryReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const mode = process.env.TEST_INVENTORY;
    if (mode !== 'check' && mode !== 'update') return;
    const names = [];
    for (const suite of results.testResults) for (const test of suite.testResults) names.push(test.fullName);
    names.sort();
    if (mode === 'update') {
      writeFileSync(LIST, names.join('\n') + '\n');
      process.stderr.write(`\nTest inventory: ${names.length} tests written to test/inventory/tests.txt\n`);
      return;
    }
    const have = new Map();
    for (const name of names) have.set(name, (have.get(name) ?? 0) + 1);
    const missing = [];
    const expected = readFileSync(LIST, 'utf8').split('\n').filter(Boolean);
    for (const name of expected) {
      const left = have.get(name) ?? 0;
      if (left === 0) missing.push(name);
      else have.set(name, left - 1);
    }
    if (missing.length > 0) {
      process.stderr.write(
        `\nTEST INVENTORY: ${missing.length} of ${expected.length} tests in test/inventory/tests.txt did not run:\n` +
          missing
            .slice(0, 30)
            .map((n) => `  - ${n}`)
            .join('\n') +
          (missing.length > 30 ? `\n  … and ${missing.length - 30} more` : '') +
          '\nA test may not disappear. A retitle updates tests.txt and test/inventory/retitles.tsv in the same commit.\n',
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`\nTest inventory: all ${expected.length} listed tests ran (${names.length} in this run).\n`);
    }
  }
}
