// Jest globalSetup (main process, before any worker starts): a fresh file where suites record what they skipped
// because a required server binary is missing; workers inherit NTI_SKIP_LOG. Read by skip-reporter.mjs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function globalSetup() {
  process.env.NTI_SKIP_LOG = join(mkdtempSync(join(tmpdir(), 'nti-skips-')), 'skips.jsonl');
}
